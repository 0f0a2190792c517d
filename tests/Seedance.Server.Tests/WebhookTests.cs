using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Task callbacks: signed per Standard Webhooks, recorded in the outbox with the status change, retried on
/// the schedule, logged per attempt, redelivered on request. Signatures are checked here with the test's
/// own HMAC, not the server's code. Tests that need nothing but the callback settings share one server (each
/// makes its own keys, receivers and tasks); those that move a clock, stop a server or hang a receiver have their own.
/// </summary>
public sealed class WebhookTests(WebhookServerFixture fixture) : IClassFixture<WebhookServerFixture>
{
    private const string FailingPrompt = "A lighthouse at dusk [sandbox:fail=CONTENT_MODERATION_FAILED]";

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Seedance:Callbacks:AllowPrivateNetworks"] = "true",
        ["Seedance:Callbacks:DispatchIntervalSeconds"] = "0.1",
    };

    private static Dictionary<string, string> With(params (string Key, string Value)[] more)
    {
        var all = new Dictionary<string, string>(Settings);
        foreach (var (k, v) in more) all[k] = v;
        return all;
    }

    [Fact]
    public async Task ACallbackCarriesTheTaskObjectSignedSoThatAnIndependentVerifierAcceptsIt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync("A cat under cherry blossoms", extra: new() { ["callback_url"] = receiver.Url });
        await client.WaitForAsync(taskId);
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 1), "the callback");

        var hook = receiver.Received[0];
        var secret = await SecretAsync(client);
        Assert.StartsWith("whsec_", secret);
        Assert.True(Convert.FromBase64String(secret["whsec_".Length..]).Length >= 24);
        Assert.StartsWith("msg_", hook.Id);
        Assert.InRange(long.Parse(hook.Timestamp), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.True(Verifies(secret, hook.Id, hook.Timestamp, hook.Body, hook.Signature), hook.Signature);
        Assert.False(Verifies(secret, hook.Id, hook.Timestamp, hook.Body.Replace("completed", "failed"), hook.Signature));

        var task = (await client.GetTaskAsync(taskId)).Result!;
        Assert.Equal("completed", task.Status());
        var sent = JsonNode.Parse(hook.Body)!;
        if (server.Bucket is not null)
            foreach (var link in new[] { task, sent }) link["video_url"] = new Uri(link["video_url"]!.GetValue<string>()).GetLeftPart(UriPartial.Path); // S3 presigns each read anew
        Assert.True(JsonNode.DeepEquals(task, sent), $"{hook.Body}\n!=\n{task.ToJsonString()}");
        Assert.StartsWith(server.StoreUrlPrefix, task["video_url"]!.GetValue<string>());
    }

    [Fact]
    public async Task AReceiverFailingTwiceThenSucceedingGetsTheSameWebhookIdFreshlySignedOnTheSchedule()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = n => new Reply(n < 2 ? 500 : 200);
        await using var server = await RunningServer.StartAsync(Settings, services: s => s.AddSingleton<TimeProvider>(clock));
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });

        // The clock stands still unless moved: move it in small steps until the task has failed and its callback is tried.
        await AdvanceUntilAsync(clock, () => Task.FromResult(receiver.Received.Count == 1), "the first attempt");
        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))!.Attempts == 1, "the first attempt to be logged");
        var first = (await DeliveryAsync(server, taskId))!;
        var attempts = await AttemptsAsync(server, first.Id);
        // The wait counts from the end of the failed attempt; the clock may have moved a step while it was under way.
        var movedDuringAttempt = clock.GetUtcNow().UtcDateTime - attempts[0].AttemptedAt;
        Assert.InRange(first.NextAttemptAt - attempts[0].AttemptedAt, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.5) + movedDuringAttempt);

        clock.Advance(TimeSpan.FromSeconds(5.5));
        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))!.Attempts == 2, "the second attempt");
        var second = (await DeliveryAsync(server, taskId))!;
        attempts = await AttemptsAsync(server, first.Id);
        Assert.InRange(second.NextAttemptAt - attempts[1].AttemptedAt, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5.5));

        clock.Advance(TimeSpan.FromMinutes(5.5));
        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))!.Status == "delivered", "the delivery");

        var hooks = receiver.Received;
        Assert.Equal(3, hooks.Count);
        Assert.Single(hooks.Select(h => h.Id).Distinct());
        Assert.Equal(3, hooks.Select(h => h.Timestamp).Distinct().Count());
        Assert.Equal(3, hooks.Select(h => h.Signature).Distinct().Count());
        var secret = await SecretAsync(client);
        Assert.All(hooks, h => Assert.True(Verifies(secret, h.Id, h.Timestamp, h.Body, h.Signature)));

        var log = await OwnerLogAsync(client, taskId);
        var delivery = Assert.Single(log["deliveries"]!.AsArray())!;
        Assert.Equal("delivered", delivery["status"]!.GetValue<string>());
        Assert.Equal([500, 500, 200], delivery["attempts"]!.AsArray().Select(a => a!["http_status"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A410GoneStopsRetryingAtOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => new Reply(410);
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });

        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))?.Status == "failed", "the delivery to fail");
        var delivery = (await OwnerLogAsync(client, taskId))["deliveries"]![0]!;
        Assert.Equal(1, delivery["attempt_count"]!.GetValue<int>());
        Assert.Equal(410, delivery["last_status"]!.GetValue<int>());
        Assert.Null(delivery["next_attempt_at"]);
    }

    [Fact]
    public async Task ARedirectIsNotFollowedAndCountsAsAFailedAttempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => new Reply(307, new() { ["Location"] = receiver.BaseUrl + "/elsewhere" });
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });

        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))?.Attempts == 1, "the first attempt");
        var delivery = (await OwnerLogAsync(client, taskId))["deliveries"]![0]!;
        Assert.Equal("pending", delivery["status"]!.GetValue<string>());
        var attempt = delivery["attempts"]![0]!;
        Assert.Equal(307, attempt["http_status"]!.GetValue<int>());
        Assert.Contains("redirect", attempt["error"]!.GetValue<string>());
        Assert.Empty(receiver.Elsewhere);
    }

    [Fact]
    public async Task ARetryAfterLongerThanTheScheduleIsHonoured()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => new Reply(503, new() { ["Retry-After"] = "3600" });
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });

        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))?.Attempts == 1, "the first attempt");
        var delivery = (await DeliveryAsync(server, taskId))!;
        var attempt = Assert.Single(await AttemptsAsync(server, delivery.Id));
        Assert.Equal(503, attempt.HttpStatus);
        Assert.InRange(delivery.NextAttemptAt - attempt.AttemptedAt, TimeSpan.FromSeconds(3600), TimeSpan.FromSeconds(3610));
    }

    [Fact]
    public async Task AfterARotationTheNewAndThePreviousSecretBothSign()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var old = await SecretAsync(client);
        var rotated = await ApiResponse.From(await client.Http.PostAsync("/api/v1/video/webhook/secret/rotate", null));
        rotated.AssertOk();
        var fresh = rotated.Result!["secret"]!.GetValue<string>();
        Assert.NotEqual(old, fresh);
        Assert.Equal(fresh, await SecretAsync(client));
        var graceEnds = DateTime.Parse(rotated.Result!["previous_secret_expires_at"]!.GetValue<string>()).ToUniversalTime();
        Assert.InRange(graceEnds, DateTime.UtcNow.AddHours(23), DateTime.UtcNow.AddHours(25));

        var taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });
        await client.WaitForAsync(taskId);
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 1), "the callback");
        var hook = receiver.Received[0];
        var entries = hook.Signature.Split(' ');
        Assert.Equal(2, entries.Length);
        Assert.True(Verifies(fresh, hook.Id, hook.Timestamp, hook.Body, entries[0]));
        Assert.True(Verifies(old, hook.Id, hook.Timestamp, hook.Body, entries[1]));

        var admin = await ApiResponse.From(await server.Admin.GetAsync($"/admin/v1/keys/{client.KeyId}/webhook"));
        admin.AssertOk();
        Assert.Equal(fresh, admin.Result!["secret"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherKeyNeitherSeesNorRedeliversATasksCallbacks()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = fixture.Server;
        using var owner = await server.CreateKeyAsync(name: "owner");
        using var other = await server.CreateKeyAsync(name: "other");
        var taskId = await owner.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });
        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, taskId))?.Status == "delivered", "the delivery");

        (await ApiResponse.From(await other.Http.GetAsync($"/api/v1/video/task/{taskId}/webhooks"))).AssertError(404, "TASK_NOT_FOUND");
        (await ApiResponse.From(await other.Http.PostAsync($"/api/v1/video/task/{taskId}/webhooks/redeliver", null))).AssertError(404, "TASK_NOT_FOUND");
        Assert.NotEqual(await SecretAsync(owner), await SecretAsync(other));

        var admin = await ApiResponse.From(await server.Admin.GetAsync($"/admin/v1/tasks/{taskId}/webhooks"));
        admin.AssertOk();
        Assert.Single(admin.Result!["deliveries"]!.AsArray());
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task ARedeliveryIsANewSeriesWithTheSameWebhookId()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 1), "the callback");

        (await ApiResponse.From(await client.Http.PostAsync($"/api/v1/video/task/{taskId}/webhooks/redeliver", null))).AssertOk();
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 2), "the owner's redelivery");
        (await ApiResponse.From(await server.Admin.PostAsync($"/admin/v1/tasks/{taskId}/webhooks/redeliver", null))).AssertOk();
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 3), "the operator's redelivery");

        Assert.Single(receiver.Received.Select(h => h.Id).Distinct());
        Assert.Single(receiver.Received.Select(h => h.Body).Distinct());
        await ServerProbes.WaitUntilAsync(async () => (await OwnerLogAsync(client, taskId))["deliveries"]!.AsArray()
            .All(d => d!["status"]!.GetValue<string>() == "delivered"), "every series delivered");
        Assert.Equal(3, (await OwnerLogAsync(client, taskId))["deliveries"]!.AsArray().Count);
    }

    [Fact]
    public async Task ACallbackCommittedBeforeTheServerStoppedIsDeliveredByTheNextServer()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        ApiClient client;
        string taskId, dataDir;
        await using (var first = await RunningServer.StartAsync(With(("Seedance:Callbacks:Deliver", "false"))))
        {
            first.KeepDataDir = true;
            dataDir = first.DataDir;
            client = await first.CreateKeyAsync();
            taskId = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });
            await client.WaitForAsync(taskId);
            var waiting = (await DeliveryAsync(first, taskId))!;
            Assert.Equal(("pending", 0), (waiting.Status, waiting.Attempts));
            client.Dispose();
        }
        Assert.Empty(receiver.Received);

        await using var second = await RunningServer.StartAsync(Settings, dataDir);
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 1), "the callback after the restart");
        using var again = new ApiClient(second.BaseUrl, client.ApiKey, client.KeyId);
        var hook = receiver.Received[0];
        Assert.True(Verifies(await SecretAsync(again), hook.Id, hook.Timestamp, hook.Body, hook.Signature));
        Assert.Equal(taskId, JsonNode.Parse(hook.Body)!["task_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AHangingReceiverDoesNotHoldUpAnotherTasksCallback()
    {
        await using var hanging = await WebhookReceiver.StartAsync();
        hanging.Answer = _ => new Reply(0);
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var server = await RunningServer.StartAsync(Settings);
        using var client = await server.CreateKeyAsync();
        var slow = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = hanging.Url });
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(hanging.Received.Count == 1), "the hanging receiver to be called");

        var fast = await client.SubmitTextAsync(FailingPrompt, extra: new() { ["callback_url"] = receiver.Url });
        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, fast))?.Status == "delivered", "the other callback");
        Assert.Equal(0, (await DeliveryAsync(server, slow))!.Attempts); // still waiting for its answer
    }

    [Fact]
    public async Task ATaskWithoutACallbackUrlHasNoDelivery()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(FailingPrompt);
        await client.WaitForAsync(taskId);
        Assert.Null(await DeliveryAsync(server, taskId));
        Assert.Empty((await OwnerLogAsync(client, taskId))["deliveries"]!.AsArray());
        (await ApiResponse.From(await client.Http.PostAsync($"/api/v1/video/task/{taskId}/webhooks/redeliver", null))).AssertError(400, "INVALID_PARAMETER");
    }

    /// <summary>The receiver's side of Standard Webhooks, written from the specification.</summary>
    private static bool Verifies(string secret, string id, string timestamp, string body, string signatureHeader)
    {
        using var hmac = new HMACSHA256(Convert.FromBase64String(secret.Split('_', 2)[1]));
        var expected = Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(id + "." + timestamp + "." + body)));
        return signatureHeader.Split(' ').Any(entry => entry.Split(',', 2) is ["v1", var sig] &&
            CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sig), Encoding.ASCII.GetBytes(expected)));
    }

    private static async Task<string> SecretAsync(ApiClient client)
    {
        var response = await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/webhook/secret"));
        response.AssertOk();
        return response.Result!["secret"]!.GetValue<string>();
    }

    private static async Task<JsonNode> OwnerLogAsync(ApiClient client, string taskId)
    {
        var response = await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{taskId}/webhooks"));
        response.AssertOk();
        return response.Result!;
    }

    private static Task<WebhookDelivery?> DeliveryAsync(RunningServer server, string taskId) =>
        server.QueryAsync(db => db.WebhookDeliveries.AsNoTracking().Where(d => d.TaskId == taskId).OrderBy(d => d.Id).FirstOrDefaultAsync());

    private static Task<List<WebhookAttempt>> AttemptsAsync(RunningServer server, long deliveryId) =>
        server.QueryAsync(db => db.WebhookAttempts.AsNoTracking().Where(a => a.DeliveryId == deliveryId).OrderBy(a => a.Number).ToListAsync());

    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Still waiting for {what}");
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }
    }
}

/// <summary>The shared server of <see cref="WebhookTests"/>: callbacks to loopback allowed, the outbox looked at every 0.1 s.</summary>
public sealed class WebhookServerFixture : ServerFixture
{
    protected override Dictionary<string, string> Settings => new(base.Settings)
    {
        ["Seedance:Callbacks:AllowPrivateNetworks"] = "true",
        ["Seedance:Callbacks:DispatchIntervalSeconds"] = "0.1",
    };
}
