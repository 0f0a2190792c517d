using FFMpegCore;

namespace Seedance.Server.Tests.Support;

/// <summary>Real media files made with ffmpeg, and probes of what the server produced.</summary>
public static class Media
{
    /// <summary>
    /// A solid-colour PNG of the given size (colour as ffmpeg names it, e.g. "red" or "0x00ff00"): made by ffmpeg once per
    /// run for each colour and size (one ffmpeg less for every test after the first that asks for the same); a copy each time.
    /// </summary>
    public static async Task<byte[]> PngAsync(string colour = "red", int width = 640, int height = 360) =>
        (await Pngs.GetOrAdd((colour, width, height), key => new Lazy<Task<byte[]>>(() => MakePngAsync(key.Colour, key.Width, key.Height))).Value).ToArray();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Colour, int Width, int Height), Lazy<Task<byte[]>>> Pngs = new();

    private static async Task<byte[]> MakePngAsync(string colour, int width, int height)
    {
        var path = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.png");
        try
        {
            await FFMpegArguments.FromFileInput($"color=c={colour}:s={width}x{height}:d=1", false, o => o.ForceFormat("lavfi"))
                .OutputToFile(path, true, o => o.WithCustomArgument("-frames:v 1"))
                .ProcessAsynchronously();
            return await File.ReadAllBytesAsync(path);
        }
        finally { File.Delete(path); }
    }

    /// <summary>A short real MP4.</summary>
    public static async Task<byte[]> Mp4Async(int seconds = 1)
    {
        var path = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.mp4");
        try
        {
            await FFMpegArguments.FromFileInput($"testsrc=s=320x240:d={seconds}", false, o => o.ForceFormat("lavfi"))
                .OutputToFile(path, true, o => o.WithCustomArgument("-c:v libx264 -preset ultrafast -pix_fmt yuv420p"))
                .ProcessAsynchronously();
            return await File.ReadAllBytesAsync(path);
        }
        finally { File.Delete(path); }
    }

    /// <summary>
    /// Downloads an image result through its link, as anyone holding it would; checks it is served as <paramref name="contentType"/>
    /// and begins with <paramref name="signature"/>; returns ffprobe's analysis of it.
    /// </summary>
    public static async Task<IMediaAnalysis> DownloadAndProbeImageAsync(string url, string contentType, byte[] signature)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(url);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(signature, bytes.Take(signature.Length));
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.{contentType.Split('/')[1]}");
        try
        {
            await File.WriteAllBytesAsync(path, bytes);
            return await FFProbe.AnalyseAsync(path);
        }
        finally { File.Delete(path); }
    }

    /// <summary>Downloads a URL to a temp file and returns ffprobe's analysis of it.</summary>
    public static async Task<(IMediaAnalysis Analysis, string Path)> DownloadAndProbeAsync(string url, string extension = ".mp4")
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}{extension}");
        using var http = new HttpClient();
        await File.WriteAllBytesAsync(path, await http.GetByteArrayAsync(url));
        return (await FFProbe.AnalyseAsync(path), path);
    }
}
