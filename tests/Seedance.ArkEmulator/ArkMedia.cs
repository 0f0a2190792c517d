using System.Collections.Concurrent;
using FFMpegCore;

namespace Seedance.Server.Tests.Ark;

/// <summary>The result files of a succeeded task: a real, small MP4 and, if asked, a PNG of its last frame.</summary>
internal sealed record ArkMedia(byte[] Video, byte[]? LastFrame)
{
    // ffmpeg takes about half a second here; each kind of result is rendered once per test run and shared
    private static readonly ConcurrentDictionary<(bool Audio, bool LastFrame), Lazy<Task<ArkMedia>>> Rendered = new();

    /// <summary>The result files: 1 s of solid colour at 320x180, 24 fps, with a tone when audio is asked for.</summary>
    public static Task<ArkMedia> RenderAsync(bool audio, bool lastFrame, CancellationToken cancellationToken)
    {
        var key = (audio, lastFrame);
        var render = Rendered.GetOrAdd(key, _ => new Lazy<Task<ArkMedia>>(() => RenderNowAsync(audio, lastFrame))).Value;
        if (render.IsFaulted) Rendered.TryRemove(key, out _); // the next task tries again
        return render.WaitAsync(cancellationToken);
    }

    private static async Task<ArkMedia> RenderNowAsync(bool audio, bool lastFrame)
    {
        const string colour = "0x2f6fb0";
        var cancellationToken = CancellationToken.None;
        var dir = Path.Combine(Path.GetTempPath(), "ark-emulator", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var video = Path.Combine(dir, "video.mp4");
            var arguments = FFMpegArguments.FromFileInput($"color=c={colour}:s=320x180:r=24:d=1", false, o => o.ForceFormat("lavfi"));
            if (audio) arguments = arguments.AddFileInput("sine=frequency=440:duration=1", false, o => o.ForceFormat("lavfi"));
            await arguments
                .OutputToFile(video, true, o => o.WithCustomArgument(
                    "-c:v libx264 -preset ultrafast -pix_fmt yuv420p" + (audio ? " -c:a aac -shortest" : "")))
                .CancellableThrough(cancellationToken)
                .ProcessAsynchronously();

            byte[]? frame = null;
            if (lastFrame)
            {
                var png = Path.Combine(dir, "last_frame.png");
                await FFMpegArguments.FromFileInput($"color=c={colour}:s=320x180:d=1", false, o => o.ForceFormat("lavfi"))
                    .OutputToFile(png, true, o => o.WithCustomArgument("-frames:v 1"))
                    .CancellableThrough(cancellationToken)
                    .ProcessAsynchronously();
                frame = await File.ReadAllBytesAsync(png, cancellationToken);
            }
            return new ArkMedia(await File.ReadAllBytesAsync(video, cancellationToken), frame);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
