using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FFMpegCore;

namespace Seedance.Server.Providers.Sandbox;

/// <summary>Renders a real H.264 MP4 with ffmpeg: deterministic from the seed and the prompt.</summary>
public sealed class SandboxRenderer(FFOptions ffmpeg)
{
    private const int Fps = 24;
    private const string Font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    public sealed record Job(string Directory, string Prompt, long Seed, int Width, int Height, int Duration, bool Audio, string? OpeningImage, bool LastFrame);

    /// <summary>Output size: the short side is the nominal height, the long side follows the ratio, rounded to even.</summary>
    public static (int Width, int Height) Size(string resolution, string ratio)
    {
        var shortSide = int.Parse(resolution.TrimEnd('p'), CultureInfo.InvariantCulture);
        var parts = ratio.Split(':');
        double a = double.Parse(parts[0], CultureInfo.InvariantCulture), b = double.Parse(parts[1], CultureInfo.InvariantCulture);
        var longSide = (int)(Math.Round(shortSide * Math.Max(a, b) / Math.Min(a, b) / 2, MidpointRounding.AwayFromZero) * 2);
        return a >= b ? (longSide, shortSide) : (shortSide, longSide);
    }

    public static long SeedFor(string prompt) => BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(prompt))) & int.MaxValue;

    public async Task RenderAsync(Job job, string videoPath, string? lastFramePath, CancellationToken ct)
    {
        await File.WriteAllTextAsync(Path.Combine(job.Directory, "prompt.txt"), Wrap(job.Prompt), ct);
        var colour = Colour(job.Seed, job.Prompt);
        var (w, h) = (job.Width, job.Height);
        var d = job.Duration.ToString(CultureInfo.InvariantCulture);

        var args = FFMpegArguments.FromFileInput($"color=c=0x{colour}:s={w}x{h}:r={Fps}:d={d}", false, o => o.ForceFormat("lavfi"));
        var audioInput = 1;
        if (job.OpeningImage is not null)
        {
            args = args.AddFileInput(job.OpeningImage);
            audioInput = 2;
        }
        if (job.Audio)
            args = args.AddFileInput($"sine=frequency={220 + job.Seed % 660}:sample_rate=44100:duration={d}", false, o => o.ForceFormat("lavfi"));

        var font = File.Exists(Font) ? $"fontfile={Font}:" : "";
        var text = $"drawtext={font}textfile=prompt.txt:fontcolor=white:fontsize={h / 20}:line_spacing={h / 80}:box=1:boxcolor=black@0.4:boxborderw={h / 60}"
                 + $":x=(w-text_w)/2:y=(h-text_h)/2+sin(t*2)*h/10";
        var stamp = $"drawtext={font}text='seed {job.Seed}  %{{pts\\:hms}}':fontcolor=white@0.8:fontsize={h / 30}:x=w/40:y=h-h/12";
        var graph = job.OpeningImage is null
            ? $"[0:v]{text},{stamp}[v]"
            : $"[1:v]scale={w}:{h}:force_original_aspect_ratio=decrease[img];[0:v][img]overlay=(W-w)/2:(H-h)/2:enable='lt(t,1)'[bg];[bg]{text},{stamp}[v]";
        var maps = job.Audio ? $"-map \"[v]\" -map {audioInput}:a -c:a aac -b:a 96k" : "-map \"[v]\" -an";

        await args.OutputToFile(videoPath, true, o => o
                .WithCustomArgument($"-filter_complex \"{graph}\" {maps} -c:v libx264 -preset ultrafast -pix_fmt yuv420p -r {Fps} -t {d} -movflags +faststart"))
            .CancellableThrough(ct)
            .ProcessAsynchronously(true, new FFOptions { BinaryFolder = ffmpeg.BinaryFolder, TemporaryFilesFolder = ffmpeg.TemporaryFilesFolder, WorkingDirectory = job.Directory });

        if (lastFramePath is not null)
            await FFMpegArguments.FromFileInput(videoPath, true, o => o.WithCustomArgument("-sseof -0.3"))
                .OutputToFile(lastFramePath, true, o => o.WithCustomArgument("-update 1"))
                .CancellableThrough(ct)
                .ProcessAsynchronously(true, ffmpeg);
    }

    private static string Colour(long seed, string prompt)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}|{prompt}"));
        // Darker tones keep the white text readable.
        return Convert.ToHexString([(byte)(hash[0] / 2), (byte)(hash[1] / 2), (byte)(hash[2] / 2)]);
    }

    private static string Wrap(string prompt)
    {
        var text = prompt.Length > 240 ? prompt[..240] + "..." : prompt;
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length + word.Length > 40 && line.Length > 0) { lines.Add(line.ToString()); line.Clear(); }
            line.Append(line.Length > 0 ? " " : "").Append(word);
        }
        if (line.Length > 0) lines.Add(line.ToString());
        return lines.Count == 0 ? "Seedance sandbox" : string.Join('\n', lines).Replace("%", "%%");
    }
}
