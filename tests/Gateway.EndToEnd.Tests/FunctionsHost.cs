using System.Diagnostics;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// Finds what runs the app as Azure does: Azure Functions Core Tools (<c>func</c>) when it is on the PATH, as on a
/// user's machine; else the Functions host build in <c>shared/tools/functions-host</c> next to the repository (or named by
/// <c>GATEWAY_FUNCTIONS_HOST</c>, the path of its <c>start</c> script). Where neither is found, the end-to-end tests are
/// skipped, saying why.
/// </summary>
public static class FunctionsHost
{
    public const string Variable = "GATEWAY_FUNCTIONS_HOST";

    /// <summary>The repository root (the folder holding Serverless.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The <c>func</c> executable, if on the PATH.</summary>
    public static string? Func { get; } = FindOnPath("func");

    /// <summary>The functions-host start script, when <c>func</c> is not on the PATH.</summary>
    public static string? StartScript { get; } = Func is null ? FindStartScript() : null;

    public static bool Found => Func is not null || StartScript is not null;

    /// <summary>Why the end-to-end tests cannot run here (one line), or null when they can.</summary>
    public static string? Missing => Found
        ? null
        : $"no Functions host: neither `func` on the PATH nor shared/tools/functions-host/start near {RepositoryRoot} (or {Variable}) was found; the end-to-end tests are skipped";

    /// <summary>The built app: <c>src/Functions/bin/{configuration}/net10.0</c> (the configuration these tests were built in).</summary>
    public static string AppDirectory
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepositoryRoot, "src", "Functions", "bin", configuration, "net10.0");
        }
    }

    /// <summary>Builds the app if its output is missing (a test run that did not build the whole solution).</summary>
    public static void EnsureBuilt()
    {
        if (File.Exists(Path.Combine(AppDirectory, "functions.metadata"))) return;
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppDirectory)!);
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", Path.Combine(RepositoryRoot, "src", "Functions"), "-c", configuration])
        {
            UseShellExecute = false,
        })!;
        build.WaitForExit();
        if (build.ExitCode != 0 || !File.Exists(Path.Combine(AppDirectory, "functions.metadata")))
            throw new InvalidOperationException($"building the function app failed (exit {build.ExitCode})");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException("the repository root (Serverless.sln) was not found above " + AppContext.BaseDirectory);
    }

    private static string? FindStartScript()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given) return File.Exists(given) ? given : null;
        for (var dir = new DirectoryInfo(RepositoryRoot); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "tools", "functions-host", "start");
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }
}

/// <summary>A test that needs the Functions host: skipped, with the reason, where none can be found.</summary>
public sealed class HostFactAttribute : FactAttribute
{
    public HostFactAttribute()
    {
        if (FunctionsHost.Missing is { } why) Skip = why;
    }
}
