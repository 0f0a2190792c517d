using System.CommandLine;
using Seedance.Client;

namespace Seedance.Cli.Commands;

/// <summary><c>status</c>, <c>list</c>, <c>cancel</c>, <c>download</c> and <c>delete</c>: one task, or the key's tasks.</summary>
public static class TaskCommands
{
    public static IEnumerable<Command> Create(CliContext context)
    {
        yield return Status(context);
        yield return List(context);
        yield return Cancel(context);
        yield return Download(context);
        yield return Delete(context);
    }

    private static Argument<string> TaskId() => new("task-id") { Description = "The task id (as generate --no-wait or list print it)" };

    private static Command Status(CliContext context)
    {
        var taskId = TaskId();
        var wait = new Option<bool>("--wait") { Description = "Wait until the task ends, showing its status" };
        var command = new Command("status", "Show a task.\n\nExamples:\n  seedance status 019a3f2c...\n  seedance status 019a3f2c... --wait --json") { taskId, wait };
        command.SetAction(async parse =>
        {
            using var client = CliConfig.Load(context).Client();
            var operation = await client.GetTaskOperationAsync(parse.GetValue(taskId)!, context.Interrupted);
            var task = parse.GetValue(wait) ? await Progress.WaitAsync(context, operation, context.Interrupted) : operation.Value!;
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, task);
            else Output.Write(context, Output.Task(task));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var status = GenerateCommand.Choice<VideoTaskStatus>("--status", "Only tasks with this status");
        var all = new Option<bool>("--all") { Description = "Every task, not only the newest" };
        var limit = new Option<int>("--limit") { Description = "How many of the newest tasks (without --all)", DefaultValueFactory = _ => 20 };
        var command = new Command("list", "List your tasks, newest first.\n\nExamples:\n  seedance list\n  seedance list --status completed --all --json") { status, all, limit };
        command.SetAction(async parse =>
        {
            if (parse.GetValue(limit) < 1) throw new CliException("--limit must be 1 or more", ExitCodes.UserError);
            using var client = CliConfig.Load(context).Client();
            var tasks = client.ListTasksAsync(GenerateCommand.Parse<VideoTaskStatus>(parse.GetValue(status)), 100, context.Interrupted);
            var list = parse.GetValue(all) ? await tasks.ToListAsync(context.Interrupted) : await tasks.Take(parse.GetValue(limit)).ToListAsync(context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, list);
            else if (list.Count == 0) context.Error.WriteLine("No tasks.");
            else Output.Write(context, Output.Tasks(list));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Cancel(CliContext context)
    {
        var taskId = TaskId();
        var command = new Command("cancel", "Cancel a task that has not finished (a cancelled task is never charged).\n\nExample:\n  seedance cancel 019a3f2c...") { taskId };
        command.SetAction(async parse =>
        {
            using var client = CliConfig.Load(context).Client();
            var result = await client.CancelTaskAsync(parse.GetValue(taskId)!, context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, result);
            else context.Out.WriteLine($"{result.TaskId} {WireName.Of(result.Status)}");
            if (!parse.GetValue(SeedanceCli.Json) && result.RefundedCredits is { } refunded) context.Error.WriteLine($"{Output.Credits(refunded)} credits refunded");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Delete(CliContext context)
    {
        var taskId = TaskId();
        var command = new Command("delete", "Delete a finished task's video, last frame and thumbnail from the server (the task stays listed with its cost).\n\nExample:\n  seedance delete 019a3f2c...") { taskId };
        command.SetAction(async parse =>
        {
            using var client = CliConfig.Load(context).Client();
            var task = await client.DeleteTaskAsync(parse.GetValue(taskId)!, context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, task);
            else context.Out.WriteLine($"{task.TaskId} {WireName.Of(task.Status)}: result files deleted");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Download(CliContext context)
    {
        var taskId = TaskId();
        var output = new Option<string?>("--output", "-o") { Description = "Where to save it (default <task_id>.mp4, or <task_id>.last-frame.png)" };
        var lastFrame = new Option<bool>("--last-frame") { Description = "Download the last frame instead of the video" };
        var command = new Command("download", "Download the video (or last frame) of a completed task.\n\nExamples:\n  seedance download 019a3f2c... -o cat.mp4\n  seedance download 019a3f2c... --last-frame")
        {
            taskId, output, lastFrame,
        };
        command.SetAction(async parse =>
        {
            using var client = CliConfig.Load(context).Client();
            var operation = await client.GetTaskOperationAsync(parse.GetValue(taskId)!, context.Interrupted);
            if (!operation.HasCompleted)
                throw new CliException($"Task {operation.TaskId} is still {WireName.Of(operation.Status)}: wait for it with `seedance status {operation.TaskId} --wait`", ExitCodes.UserError);
            operation.Value!.EnsureCompleted();
            var frame = parse.GetValue(lastFrame);
            var path = Path.GetFullPath(parse.GetValue(output) ?? $"{operation.TaskId}{(frame ? ".last-frame.png" : ".mp4")}");
            try
            {
                await Progress.DownloadAsync(context, frame ? "last frame" : "video", (p, c) =>
                    frame ? operation.DownloadLastFrameAsync(path, p, c) : operation.DownloadVideoAsync(path, p, c), context.Interrupted);
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(e.Message, ExitCodes.UserError);
            }
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, new { task_id = operation.TaskId, file = path });
            else context.Out.WriteLine(path);
            return ExitCodes.Ok;
        });
        return command;
    }
}
