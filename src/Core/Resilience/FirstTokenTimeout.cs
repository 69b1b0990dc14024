using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Resilience;

/// <summary>
/// Opens a stream and waits for its first chunk within the deployment's <see cref="DeploymentOptions.FirstTokenTimeoutSeconds"/>
/// (counted from the request), so that an upstream that accepted the request but does not start answering is a
/// retryable timeout while nothing has reached the client yet. After the first chunk only the whole-request timeout applies.
/// </summary>
public static class FirstTokenTimeout
{
    public static async Task<IChatStream> OpenAsync(IChatProvider provider, ProviderRequest call, TimeProvider time, CancellationToken cancellationToken)
    {
        if (call.Deployment.FirstTokenTimeoutSeconds is not { } seconds) return await provider.OpenStreamAsync(call, cancellationToken).ConfigureAwait(false);
        var limit = TimeSpan.FromSeconds(seconds);
        var timer = new CancellationTokenSource(limit, time);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        IChatStream? stream = null;
        try
        {
            stream = await provider.OpenStreamAsync(call, linked.Token).ConfigureAwait(false);
            var first = await stream.ReadAsync(linked.Token).ConfigureAwait(false);
            timer.CancelAfter(Timeout.InfiniteTimeSpan); // started in time: from here only the whole-request timeout
            if (timer.IsCancellationRequested) throw new OperationCanceledException(timer.Token);
            return new StartedStream(first, stream, linked, timer);
        }
        catch (Exception ex) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync(stream, linked, timer).ConfigureAwait(false);
            throw new GatewayException(new GatewayError(504,
                $"The upstream provider ({call.Deployment.Provider.ToLowerInvariant()}) sent no token within {seconds.ToString(CultureInfo.InvariantCulture)} s (first-token timeout).",
                "timeout", null, "upstream_timeout"), ex);
        }
        catch
        {
            await DisposeAsync(stream, linked, timer).ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask DisposeAsync(IChatStream? stream, CancellationTokenSource linked, CancellationTokenSource timer)
    {
        if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        linked.Dispose();
        timer.Dispose();
    }

    /// <summary>The stream with its first chunk already read; it owns the first-token timer until disposed.</summary>
    private sealed class StartedStream(JsonObject? first, IChatStream inner, CancellationTokenSource linked, CancellationTokenSource timer) : IChatStream, IStreamTrailer
    {
        private JsonObject? _first = first;
        private bool _firstTaken;

        public TokenUsage? Usage => inner.Usage;

        public string? Trailer => (inner as IStreamTrailer)?.Trailer;

        public ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            if (_firstTaken) return inner.ReadAsync(cancellationToken);
            _firstTaken = true;
            var chunk = _first;
            _first = null;
            return ValueTask.FromResult(chunk);
        }

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            linked.Dispose();
            timer.Dispose();
        }
    }
}
