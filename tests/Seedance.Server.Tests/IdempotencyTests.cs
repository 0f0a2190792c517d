using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// An Idempotency-Key makes a retried submission safe: one task, one reservation, the first answer again.
/// One server for the class: each test makes its own keys and looks only at their tasks, ledger and balance.
/// </summary>
public sealed class IdempotencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const decimal Cost = 3.6m;

    private static Dictionary<string, object> TextTask(string prompt) => new()
    {
        ["content"] = new[] { new { type = "text", text = prompt } }, ["duration"] = 4, ["resolution"] = "480p",
    };

    [Fact]
    public async Task TheSameKeyWithTheSameBodyReturnsTheFirstResponseAndCreatesNothingMore()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100);
        var body = TextTask("[sandbox:stall] A retried submission");

        var first = await client.SubmitAsync(body, "retry-1");
        first.AssertOk();
        var second = await client.SubmitAsync(body, "retry-1");
        second.AssertOk();

        Assert.Equal(first.Result!.ToJsonString(), second.Result!.ToJsonString());
        Assert.Single(await server.TaskRowsAsync(client.KeyId));
        Assert.Single(await server.LedgerRowsAsync(client.KeyId), l => l.Kind == LedgerKind.Reserve);
        Assert.Equal(Cost, (await client.CreditsAsync()).Reserved);
    }

    [Fact]
    public async Task TheSameKeyWithADifferentBodyIsAnInvalidParameter()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100);

        (await client.SubmitAsync(TextTask("[sandbox:stall] The first body"), "reused")).AssertOk();
        (await client.SubmitAsync(TextTask("[sandbox:stall] Another body"), "reused")).AssertError(400, "INVALID_PARAMETER", "Idempotency-Key");

        Assert.Single(await server.TaskRowsAsync(client.KeyId));
        Assert.Equal(Cost, (await client.CreditsAsync()).Reserved);
    }

    [Fact]
    public async Task DifferentApiKeysUseTheSameIdempotencyKeyIndependently()
    {
        var server = fixture.Server;
        using var alice = await server.CreateKeyAsync(credits: 100, name: "alice");
        using var bob = await server.CreateKeyAsync(credits: 100, name: "bob");
        var body = TextTask("[sandbox:stall] Same body, same Idempotency-Key, two customers");

        var forAlice = await alice.SubmitAsync(body, "order-42");
        var forBob = await bob.SubmitAsync(body, "order-42");
        forAlice.AssertOk();
        forBob.AssertOk();

        Assert.NotEqual(forAlice.Result!["task_id"]!.GetValue<string>(), forBob.Result!["task_id"]!.GetValue<string>());
        Assert.Single(await server.TaskRowsAsync(alice.KeyId));
        Assert.Single(await server.TaskRowsAsync(bob.KeyId));
        Assert.Equal(Cost, (await alice.CreditsAsync()).Reserved);
        Assert.Equal(Cost, (await bob.CreditsAsync()).Reserved);
    }

    [Fact]
    public async Task TenConcurrentRequestsWithTheSameKeyCreateExactlyOneTask()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100);
        var body = TextTask("[sandbox:stall] Ten impatient retries");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.SubmitAsync(body, "burst")));

        foreach (var response in responses) response.AssertOk();
        var taskId = Assert.Single(responses.Select(r => r.Result!["task_id"]!.GetValue<string>()).Distinct());
        Assert.Equal(taskId, Assert.Single(await server.TaskRowsAsync(client.KeyId)).TaskId);
        Assert.Single(await server.LedgerRowsAsync(client.KeyId), l => l.Kind == LedgerKind.Reserve);
        Assert.Equal(Cost, (await client.CreditsAsync()).Reserved);
    }

    [Fact]
    public async Task ConcurrentRetriesAgainstABalanceForOneTaskAllGetTheFirstResponse()
    {
        // The first request reserves the whole balance; a retry racing it must still be answered as the first was.
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: Cost);
        var body = TextTask("[sandbox:stall] The only task this balance covers");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.SubmitAsync(body, "exact-fit")));

        foreach (var response in responses) response.AssertOk();
        Assert.Single(responses.Select(r => r.Result!["task_id"]!.GetValue<string>()).Distinct());
        Assert.Single(await server.TaskRowsAsync(client.KeyId));
        Assert.Equal(new CreditFigures(Cost, 0m, Cost, 0m), await client.CreditsAsync());
    }

    [Fact]
    public async Task ConcurrentRetriesAgainstABacklogForOneTaskAllGetTheFirstResponse()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1, maxPending: 1);
        var running = await client.SubmitTextAsync("[sandbox:stall] Holds the only slot");
        await client.WaitForAsync(running, "queued", "processing");
        var body = TextTask("[sandbox:stall] The only task the backlog takes");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.SubmitAsync(body, "backlog-fit")));

        foreach (var response in responses) response.AssertOk();
        Assert.Single(responses.Select(r => r.Result!["task_id"]!.GetValue<string>()).Distinct());
        Assert.Equal(2, (await server.TaskRowsAsync(client.KeyId)).Count);
        Assert.Equal(2 * Cost, (await client.CreditsAsync()).Reserved);
    }

    [Fact]
    public async Task AnIdempotencyKeyIsForgottenAfterADay()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100);
        var body = TextTask("[sandbox:stall] Submitted again the next week");
        var first = await client.SubmitAsync(body, "weekly");
        first.AssertOk();
        await server.WriteDirectlyAsync(db => db.IdempotencyRecords.Where(r => r.KeyId == client.KeyId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.CreatedAt, r => r.CreatedAt.AddHours(-25))));

        var again = await client.SubmitAsync(body, "weekly");
        again.AssertOk();
        Assert.NotEqual(first.Result!["task_id"]!.GetValue<string>(), again.Result!["task_id"]!.GetValue<string>());
        var third = await client.SubmitAsync(body, "weekly");
        Assert.Equal(again.Result!.ToJsonString(), third.Result!.ToJsonString());

        Assert.Equal(2, (await server.TaskRowsAsync(client.KeyId)).Count);
        Assert.Equal(2 * Cost, (await client.CreditsAsync()).Reserved);
    }
}
