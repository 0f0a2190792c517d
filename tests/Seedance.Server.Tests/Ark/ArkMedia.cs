using FFMpegCore;

namespace Seedance.Server.Tests.Ark;

/// <summary>The result files of a succeeded task: a real, small MP4 and, if asked, a PNG of its last frame.</summary>
internal sealed record ArkMedia(byte[] Video, byte[]? LastFrame)
{
    /// <summary>Renders 1 s of a solid colour (from the seed) at 320x180, 24 fps, with a tone when audio is asked for.</summary>
    public static async Task<ArkMedia> RenderAsync(long seed, bool audio, bool lastFrame, CancellationToken cancellationToken)
    {
        var colour = $"0x{seed & 0xFFFFFF:x6}";
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
