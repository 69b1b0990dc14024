using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Safety;

/// <summary>
/// The provider's own content filter (Azure OpenAI's): its results pass through to the client untouched —
/// <c>prompt_filter_results</c>, each choice's <c>content_filter_results</c>, in streams too, and its 400
/// <c>content_filter</c> refusal with the categories as <c>innererror</c> — and its decisions are recorded beside the
/// gateway's own (<c>provider: block provider.violence=1</c> in <c>x-gateway-safety</c> and on the usage record).
/// </summary>
internal static class ProviderFilters
{
    /// <summary>The handler after the safety stage, with the provider filter's decisions noted on the way back.</summary>
    public static GatewayHandler Watching(GatewayHandler next) => async context =>
    {
        GatewayResult result;
        try
        {
            result = await next(context).ConfigureAwait(false);
        }
        catch (GatewayException ex) when (ex.Error.Code == "content_filter")
        {
            // after this stage, only the provider answers content_filter
            Note(context, UpstreamErrors.FilteredCategories(ex.Error.InnerError?["content_filter_result"]), headers: true);
            throw;
        }

        switch (result)
        {
            case GatewayResult.Completion completion when completion.Body["choices"] is JsonArray choices:
                var filtered = choices.OfType<JsonObject>().Where(c => (string?)(c["finish_reason"] as JsonValue) == "content_filter").ToList();
                if (filtered.Count > 0) Note(context, [.. filtered.SelectMany(c => UpstreamErrors.FilteredCategories(c["content_filter_results"]))], headers: true);
                return completion;
            case GatewayResult.Streaming streaming:
                return new GatewayResult.Streaming(new Watched(streaming.Stream, context));
            default:
                return result;
        }
    };

    private static void Note(GatewayContext context, IReadOnlyList<string> categories, bool headers)
    {
        var names = categories.Count == 0 ? ["provider.content_filter"] : categories;
        context.SetSafety(SafetyPart.Provider, "provider: block " + string.Join(' ', names.GroupBy(n => n, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}")));
        if (headers) context.ResponseHeaders[SafetyStage.Header] = context.Safety!;
    }

    /// <summary>A stream passed through unchanged; a choice the provider ends with <c>content_filter</c> is recorded.</summary>
    private sealed class Watched(IChatStream inner, GatewayContext context) : IChatStream, IStreamTrailer
    {
        private bool _noted;

        public TokenUsage? Usage => inner.Usage;

        public string? Trailer => (inner as IStreamTrailer)?.Trailer;

        public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            var chunk = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (_noted || chunk?["choices"] is not JsonArray choices) return chunk;
            foreach (var choice in choices.OfType<JsonObject>())
            {
                if (choice["finish_reason"] is not JsonValue f || f.GetValueKind() != JsonValueKind.String || (string?)f != "content_filter") continue;
                // the headers are gone with the first byte: the record has it
                Note(context, UpstreamErrors.FilteredCategories(choice["content_filter_results"]), headers: false);
                _noted = true;
                break;
            }

            return chunk;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
