using System.Text;

namespace Seedance.Server.Tests.Ark;

public sealed partial class ArkEmulator
{
    private static readonly string[] CallbackStatuses = ["queued", "running", "succeeded", "failed", "expired"];

    private async Task RunTimelineAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (await timer.WaitForNextTickAsync(stopping)) Advance();
    }

    /// <summary>Moves every task whose time is up one step along queued -> running -> outcome.</summary>
    private void Advance()
    {
        var now = DateTimeOffset.UtcNow;
        lock (_gate)
        {
            foreach (var task in _tasks.Values)
            {
                if (task.IsTerminal || task.Held || task.Finishing) continue;
                var expire = Faults.ExpireTasks || task.Triggers.Expire;
                var elapsed = now - task.StatusSince;
                if (now >= task.CreatedAt.AddSeconds(task.ExecutionExpiresAfter))
                    Transition(task, "expired");
                else if (task.Status == "queued" && elapsed >= Timing.QueuedFor)
                    Transition(task, expire ? "expired" : "running");
                else if (task.Status == "running" && elapsed >= Timing.RunningFor + Timing.RunningSpread * task.RunningShare && !(Faults.Stuck || task.Triggers.Stuck))
                {
                    if (expire) Transition(task, "expired");
                    else if ((task.Triggers.Fail ?? Faults.FailOutputCode) is { } code) Transition(task, "failed", code, FailureMessage(code));
                    else
                    {
                        task.Finishing = true;
                        Track(Task.Run(() => SucceedAsync(task)));
                    }
                }
            }
        }
    }

    private async Task SucceedAsync(EmulatedTask task)
    {
        ArkMedia media;
        try
        {
            media = await ArkMedia.RenderAsync(task.GenerateAudio, task.ReturnLastFrame, _stopping.Token);
        }
        catch (Exception e) when (!_stopping.IsCancellationRequested)
        {
            lock (_gate)
            {
                task.Finishing = false;
                if (task.Status == "running") Transition(task, "failed", "InternalServiceError", $"Rendering failed: {e.Message}");
            }
            return;
        }
        lock (_gate)
        {
            task.Finishing = false;
            if (task.Status != "running" || !_tasks.ContainsKey(task.Id)) return; // a test forced it elsewhere meanwhile
            Publish(task, media);
            Transition(task, "succeeded");
        }
    }

    /// <summary>Stores the media behind presigned links. Call under the lock.</summary>
    private void Publish(EmulatedTask task, ArkMedia media)
    {
        var now = DateTimeOffset.UtcNow;
        var signature = RandomText("0123456789abcdef", 32);
        _results[task.Id] = new ArkResult(media, signature, now);
        var query = $"?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Date={now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}&X-Tos-Expires=86400&X-Tos-Signature={signature}";
        task.VideoUrl = $"{Origin}/results/{task.Id}/video.mp4{query}";
        task.LastFrameUrl = media.LastFrame is null ? null : $"{Origin}/results/{task.Id}/last_frame.png{query}";
    }

    /// <summary>Changes a task's status and sends its callback. Call under the lock.</summary>
    private void Transition(EmulatedTask task, string status, string? errorCode = null, string? errorMessage = null)
    {
        var now = DateTimeOffset.UtcNow;
        task.Status = status;
        task.UpdatedAt = task.StatusSince = now;
        if (task.IsTerminal) task.FinishedAt ??= now;
        task.ErrorCode = errorCode;
        task.ErrorMessage = errorCode is null ? null : errorMessage ?? FailureMessage(errorCode);
        if (task.CallbackUrl is null || !CallbackStatuses.Contains(status)) return;
        var (previous, url, body) = (task.Callbacks, task.CallbackUrl, task.ToJson().ToJsonString());
        var send = Task.Run(() => SendCallbackAsync(previous, task.Id, url, status, body)); // not under the lock
        task.Callbacks = send;
        Track(send);
    }

    /// <summary>Delivers one status change after the previous ones of the same task; succeeded and failed are retried up to 3 times.</summary>
    private async Task SendCallbackAsync(Task previous, string id, string url, string status, string body)
    {
        await previous;
        if (Faults.DropCallbacks)
        {
            Record(new ArkCallbackAttempt(id, status, 1, null, "dropped", body));
            return;
        }
        var attempts = status is "succeeded" or "failed" ? 4 : 1;
        for (var attempt = 1; attempt <= attempts && !_stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                if (attempt > 1) await Task.Delay(Timing.CallbackRetryDelay, _stopping.Token);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(Timing.CallbackTimeout);
                using var response = await _callbackHttp.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"), timeout.Token);
                var acknowledged = response.IsSuccessStatusCode;
                Record(new ArkCallbackAttempt(id, status, attempt, (int)response.StatusCode, acknowledged ? "acknowledged" : "rejected", body));
                if (acknowledged) return;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { return; }
            catch (OperationCanceledException) { Record(new ArkCallbackAttempt(id, status, attempt, null, "timeout", body)); }
            catch (HttpRequestException e) { Record(new ArkCallbackAttempt(id, status, attempt, null, $"unreachable: {e.Message}", body)); }
        }
    }

    private void Record(ArkCallbackAttempt attempt)
    {
        lock (_gate) _callbacks.Add(attempt);
    }

    private static string FailureMessage(string code) => code.StartsWith("Output", StringComparison.Ordinal)
        ? "The request failed because the output video may contain sensitive information."
        : $"The task failed: {code}.";
}
