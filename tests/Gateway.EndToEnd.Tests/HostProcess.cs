using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// The function app running on the Functions host (<c>func start</c>, or the functions-host build): started with the
/// given app settings on a loopback port, ready once the host answers its ping and the worker answers a route; stopped
/// as the platform stops it (SIGTERM, a graceful shutdown), killed only if it outlives a deadline.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private readonly StreamWriter _file;

    private HostProcess(Process process, int port)
    {
        _process = process;
        // the whole log, for a failure to be read after the run
        var logs = Path.Combine(Path.GetTempPath(), "gateway-e2e-logs");
        Directory.CreateDirectory(logs);
        LogFile = Path.Combine(logs, $"host-{DateTime.UtcNow:yyyyMMddHHmmss}-{port}.log");
        _file = new StreamWriter(LogFile) { AutoFlush = true };
        Port = port;
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; }

    /// <summary>Where the host's whole output is written.</summary>
    public string LogFile { get; }

    public Uri BaseUri { get; }

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _file.WriteLine(line);
            // keep the tail: the host is chatty
            if (_log.Length > 2_000_000) _log.Remove(0, 1_000_000);
            _log.AppendLine(line);
        }
    }

    /// <summary>
    /// Starts the host and waits until the app answers (<paramref name="readyCheck"/> returns true); on
    /// <paramref name="port"/> when given (a restart keeps its address, as an app in Azure does), else on a free port.
    /// </summary>
    public static async Task<HostProcess> StartAsync(IReadOnlyDictionary<string, string> settings, Func<HttpClient, Task<bool>> readyCheck, TimeSpan timeout, int? port = null)
    {
        FunctionsHost.EnsureBuilt();
        port ??= Gateway.Testing.LocalServerProcess.FreePort();
        var app = FunctionsHost.AppDirectory;
        ProcessStartInfo start;
        var settingsFile = Path.Combine(Path.GetTempPath(), $"gateway-e2e-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(settingsFile, JsonSerializer.Serialize(new { IsEncrypted = false, Values = settings }));
        if (FunctionsHost.Func is { } func)
        {
            start = new ProcessStartInfo(func, ["host", "start", "--port", port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { WorkingDirectory = app };
        }
        else
        {
            start = new ProcessStartInfo("bash", [FunctionsHost.StartScript!, app, port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            start.Environment["LOCAL_SETTINGS"] = settingsFile;
        }

        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var (name, value) in settings) start.Environment[name] = value;
        var host = new HostProcess(Process.Start(start) ?? throw new InvalidOperationException("could not start the Functions host"), port.Value);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5), BaseAddress = host.BaseUri };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (host._process.HasExited) throw new InvalidOperationException($"the Functions host exited with {host._process.ExitCode}:\n{Tail(host.Log)}");
            try
            {
                using var ping = await http.PostAsync("admin/host/ping", null);
                if (ping.StatusCode == HttpStatusCode.OK && await readyCheck(http)) return host;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            await Task.Delay(250);
        }

        await host.DisposeAsync();
        throw new TimeoutException($"the Functions host did not become ready within {timeout.TotalSeconds} s:\n{Tail(host.Log)}");
    }

    private static string Tail(string log) => log.Length <= 8000 ? log : log[^8000..];

    /// <summary>Stops the host as the platform does (SIGTERM: a graceful shutdown); kills it if it outlives <paramref name="deadline"/>.</summary>
    public async Task StopAsync(TimeSpan deadline)
    {
        if (_process.HasExited) return;
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            await kill!.WaitForExitAsync();
        using var wait = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
            lock (_log) _file.Dispose();
        }
    }
}
