using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Testing;

/// <summary>
/// A server the tests start themselves (Azurite, redis-server): its output is kept for error messages, and it is
/// killed with its children when disposed.
/// </summary>
public sealed class LocalServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private LocalServerProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static LocalServerProcess Start(string path, IEnumerable<string> arguments, string name)
    {
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return new LocalServerProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}"));
    }

    /// <summary>A loopback port free at the time of asking (nothing listens on it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The process's exit code once it has exited on its own (its output then read to the end), else null.</summary>
    public int? ExitCode
    {
        get
        {
            if (!_process.HasExited) return null;
            _process.WaitForExit();   // the redirected output's last lines arrive after the exit itself
            return _process.ExitCode;
        }
    }

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    private void Append(string? line)
    {
        lock (_log) _log.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
