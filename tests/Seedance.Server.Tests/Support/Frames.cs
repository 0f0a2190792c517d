using FFMpegCore;

namespace Seedance.Server.Tests.Support;

/// <summary>One decoded video frame as RGB pixels.</summary>
public sealed record Frame(int Width, int Height, byte[] Rgb)
{
    public Colour Pixel(int x, int y)
    {
        var i = (y * Width + x) * 3;
        return new Colour(Rgb[i], Rgb[i + 1], Rgb[i + 2]);
    }

    public Colour Centre => Pixel(Width / 2, Height / 2);

    /// <summary>The first frame of a video, decoded with ffmpeg.</summary>
    public static async Task<Frame> FirstOfAsync(string videoPath)
    {
        var video = (await FFProbe.AnalyseAsync(videoPath)).PrimaryVideoStream ?? throw new InvalidOperationException($"{videoPath} has no video");
        var raw = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.rgb");
        try
        {
            await FFMpegArguments.FromFileInput(videoPath)
                .OutputToFile(raw, true, o => o.WithCustomArgument("-frames:v 1 -f rawvideo -pix_fmt rgb24"))
                .ProcessAsynchronously();
            var (width, height) = SizeOf(video);
            var rgb = await File.ReadAllBytesAsync(raw);
            Assert.Equal(width * height * 3, rgb.Length);
            return new Frame(width, height, rgb);
        }
        finally { File.Delete(raw); }
    }

    /// <summary>Width and height as ffprobe reports them; a video stream without them is a broken video.</summary>
    public static (int Width, int Height) SizeOf(VideoStream video) =>
        (video.Width ?? throw new InvalidOperationException("no width"), video.Height ?? throw new InvalidOperationException("no height"));
}

public readonly record struct Colour(byte R, byte G, byte B)
{
    /// <summary>Pure red as a PNG of "red" decodes to: a strong red channel, hardly any green or blue.</summary>
    public bool IsRed => R >= 200 && G <= 60 && B <= 60;

    /// <summary>A red hue, also when darkened (under the translucent box of the prompt text).</summary>
    public bool IsRedIsh => R >= 100 && G * 3 <= R && B * 3 <= R;

    public override string ToString() => $"#{R:x2}{G:x2}{B:x2}";
}
