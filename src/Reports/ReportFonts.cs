using PdfSharp.Fonts;
using SkiaSharp;

namespace Gateway.Reports;

/// <summary>
/// The reports' one font, DejaVu Sans (regular and bold), from this assembly's resources: PDFsharp's Core build finds no
/// system fonts on Linux and SkiaSharp's dependency-free native library has no fontconfig, so both are given these bytes
/// and no installed font is ever needed. Every family asked for resolves to DejaVu Sans.
/// </summary>
internal static class ReportFonts
{
    public const string Family = "DejaVu Sans";
    private const string RegularFace = "DejaVuSans";
    private const string BoldFace = "DejaVuSans-Bold";

    private static readonly Lazy<byte[]> Regular = new(() => Load(RegularFace));
    private static readonly Lazy<byte[]> Bold = new(() => Load(BoldFace));
    private static readonly object Gate = new();
    private static bool _installed;

    /// <summary>The font file of a face (<c>DejaVuSans</c> or <c>DejaVuSans-Bold</c>).</summary>
    public static byte[] Face(bool bold) => bold ? Bold.Value : Regular.Value;

    /// <summary>Installs the resolvers once per process (PDFsharp's is global and may not change after its first use).</summary>
    public static void Install()
    {
        if (Volatile.Read(ref _installed)) return;
        lock (Gate)
        {
            if (_installed) return;
            if (GlobalFontSettings.FontResolver is null or PdfResolver) GlobalFontSettings.FontResolver ??= new PdfResolver();
            else throw new InvalidOperationException($"PDFsharp already has a font resolver ({GlobalFontSettings.FontResolver.GetType().Name}); the reports need their own.");
            ScottPlot.Fonts.FontResolvers.Insert(0, new ChartResolver());
            ScottPlot.Fonts.Default = Family;
            Volatile.Write(ref _installed, true);
        }
    }

    private static byte[] Load(string face)
    {
        using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream($"Gateway.Reports.Fonts.{face}.ttf")
            ?? throw new InvalidOperationException($"The font {face} is not embedded in {typeof(ReportFonts).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private sealed class PdfResolver : IFontResolver
    {
        public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic) =>
            // italic is simulated from the upright faces (no report uses it)
            new(bold ? BoldFace : RegularFace, mustSimulateBold: false, mustSimulateItalic: italic);

        public byte[]? GetFont(string faceName) => faceName switch
        {
            BoldFace => Bold.Value,
            RegularFace => Regular.Value,
            _ => null,
        };
    }

    private sealed class ChartResolver : ScottPlot.IFontResolver
    {
        private readonly Lazy<SKTypeface> _regular = new(() => SKTypeface.FromData(SKData.CreateCopy(Regular.Value)));
        private readonly Lazy<SKTypeface> _bold = new(() => SKTypeface.FromData(SKData.CreateCopy(Bold.Value)));

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) => bold ? _bold.Value : _regular.Value;

        public SKTypeface? CreateTypeface(string fontName, ScottPlot.FontWeight weight, ScottPlot.FontSlant slant, ScottPlot.FontSpacing spacing) =>
            CreateTypeface(fontName, weight >= ScottPlot.FontWeight.SemiBold, slant != ScottPlot.FontSlant.Upright);
    }
}
