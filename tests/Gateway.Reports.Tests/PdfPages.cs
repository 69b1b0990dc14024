using System.Diagnostics;
using SkiaSharp;
using UglyToad.PdfPig;

namespace Gateway.Reports.Tests;

/// <summary>Reads a PDF back (PdfPig), renders its pages with Debian's poppler-utils (<c>pdftoppm</c>) and keeps both as test artifacts.</summary>
internal static class PdfPages
{
    /// <summary>TestResults/reports under the repository (the folder of Serverless.sln), where the PDFs and page images are kept.</summary>
    public static string ArtifactDirectory { get; } = FindArtifactDirectory();

    private static string FindArtifactDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        var path = Path.Combine(dir?.FullName ?? Path.GetTempPath(), "TestResults", "reports");
        Directory.CreateDirectory(path);
        return path;
    }

    public static string Keep(string name, byte[] pdf)
    {
        var path = Path.Combine(ArtifactDirectory, name);
        File.WriteAllBytes(path, pdf);
        return path;
    }

    /// <summary>Each page's text, as PdfPig extracts it (letters in drawing order, the spaces drawn included).</summary>
    public static List<string> Text(byte[] pdf)
    {
        using var document = PdfDocument.Open(pdf);
        return [.. document.GetPages().Select(p => p.Text)];
    }

    /// <summary>Page <paramref name="page"/> rendered by pdftoppm at <paramref name="dpi"/>, kept next to the PDF; its path.</summary>
    public static string RenderPage(string pdfPath, int page, int dpi)
    {
        var prefix = Path.Combine(Path.GetDirectoryName(pdfPath)!, Path.GetFileNameWithoutExtension(pdfPath) + "-page" + page);
        var start = new ProcessStartInfo("pdftoppm")
        {
            ArgumentList = { "-r", dpi.ToString(System.Globalization.CultureInfo.InvariantCulture), "-png", "-singlefile", "-f", page.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-l", page.ToString(System.Globalization.CultureInfo.InvariantCulture), pdfPath, prefix },
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("pdftoppm was not found: install Debian's poppler-utils (./test.sh does when run as root).", ex);
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"pdftoppm exited with {process.ExitCode}: {errors}");
        }

        return prefix + ".png";
    }

    /// <summary>The share of pixels that are not (near) white, and the share of those in a colour close to <paramref name="color"/>.</summary>
    public static (double Inked, double OfColor) Ink(string pngPath, SKColor color)
    {
        using var bitmap = SKBitmap.Decode(pngPath) ?? throw new InvalidOperationException($"{pngPath} is not an image");
        long inked = 0, ofColor = 0;
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (p.Red > 240 && p.Green > 240 && p.Blue > 240) continue;
                inked++;
                if (Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 40) ofColor++;
            }
        }

        var total = (double)bitmap.Width * bitmap.Height;
        return (inked / total, ofColor / total);
    }

    public static (int Width, int Height) Size(string pngPath)
    {
        using var bitmap = SKBitmap.Decode(pngPath) ?? throw new InvalidOperationException($"{pngPath} is not an image");
        return (bitmap.Width, bitmap.Height);
    }
}
