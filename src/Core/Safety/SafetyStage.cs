using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;

namespace Gateway.Core.Safety;

/// <summary>Section <c>Gateway:Safety</c>.</summary>
public sealed class SafetyOptions
{
    /// <summary>The global policy: a template (log-only, baseline, pii-redact, secrets-block, strict) or a policy document; none when unset.</summary>
    public string? Policy { get; set; }

    /// <summary>Policies by team, over the global one (a template or a document each).</summary>
    public Dictionary<string, string> Teams { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Policies by key id, over the team's.</summary>
    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The Azure AI Content Safety resource policies with <c>contentSafety</c> use.</summary>
    public ContentSafetyOptions ContentSafety { get; set; } = new();

    /// <summary>Where a policy document uploaded through <c>PUT /gateway/safety</c> is kept for every instance (container/blob).</summary>
    public string PolicyBlob { get; set; } = "gateway-config/safety.json";

    /// <summary>How often each instance looks for a replaced policy document.</summary>
    public double PolicyRefreshSeconds { get; set; } = 30;
}

/// <summary>
/// Checks every request before the call and every answer after it with the configured policy's local detectors: all
/// message texts (system, user, assistant, tool results) and tool-call arguments; streamed answers through a sliding
/// window (<see cref="SafeStream"/>). Block refuses with
/// 400 <c>content_filter</c> naming the detector and where (never the matched text); redact replaces the match with a
/// typed placeholder before the model sees it; flag only records. The decision is in <c>x-gateway-safety</c> and on
/// the usage record.
/// </summary>
public sealed class SafetyStage(SafetyPoliciesHolder policies, ContentSafetyClient? contentSafety = null) : IGatewayStage
{
    public const string Header = "x-gateway-safety";

    public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var principal = context.RequirePrincipal();
        // the policies in force now: a replacement applies from the next request on
        var policy = policies.Current.For(principal.Team, principal.KeyId, context.RequireModel().Name);
        var watched = ProviderFilters.Watching(next);
        return policy is null ? watched(context) : new Checks(policy, contentSafety).InvokeAsync(context, watched);
    }
}

/// <summary>The checks of one request under its policy.</summary>
internal sealed class Checks(SafetyPolicy policy, ContentSafetyClient? contentSafety)
{
    private const string Header = SafetyStage.Header;

    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var request = context.RequireRequest();
        var placeholders = new Dictionary<string, string>(StringComparer.Ordinal);
        var input = new Tally();
        var service = policy.ContentSafety is { ChecksInput: true } rule && contentSafety is not null ? rule : null;
        try
        {
            CheckInput(request, input, placeholders);
            if (service is { Parallel: false }) await CheckWithServiceAsync(request, service, input, context.Aborted).ConfigureAwait(false);
        }
        finally
        {
            // a refusal is recorded and answered with its decision too
            Decide(context, input);
        }

        // the request's own placeholders, to put back into the answer when the policy restores (never the answer's own)
        var restore = policy.Restore == true && placeholders.Count > 0 ? new Dictionary<string, string>(placeholders, StringComparer.Ordinal) : null;
        var result = service is { Parallel: true } ? await CallWhileCheckingAsync(context, next, request, service, input).ConfigureAwait(false) : await next(context).ConfigureAwait(false);
        var output = new Tally();
        if (result is GatewayResult.Streaming streaming)
        {
            // the headers are gone with the first byte: what the stream's check finds reaches the usage record. The policy
            // rewrites (and holds back) the text, so pricing keeps what the client is sent, not the recovering stream's text.
            context.StreamText = null;
            return new GatewayResult.Streaming(new SafeStream(streaming.Stream, policy, scan =>
            {
                output.Add(scan, policy);
                context.SetSafety(SafetyPart.Output, output.Describe("output"));
            }, placeholders, restore));
        }

        if (result is not GatewayResult.Completion completion) return result;

        if (completion.Body["choices"] is JsonArray choices)
        {
            foreach (var choice in choices.OfType<JsonObject>())
            {
                if (choice["message"] is not JsonObject message) continue;
                var blocked = Check(message, "content", "choices.message.content", output, placeholders, null);
                if (message["tool_calls"] is JsonArray calls)
                {
                    foreach (var function in calls.Select(c => c?["function"]).OfType<JsonObject>())
                        blocked |= Check(function, "arguments", "choices.message.tool_calls.function.arguments", output, placeholders, null);
                }

                if (blocked) Withhold(choice);
            }

            if (policy.ContentSafety is { ChecksOutput: true } outputRule && contentSafety is not null)
                await CheckAnswerWithServiceAsync(choices, outputRule, output, context.Aborted).ConfigureAwait(false);
            if (restore is not null) Restore(choices, new PlaceholderRestorer(restore));
        }

        if (output.Describe("output") is { } outputDecision)
        {
            context.SetSafety(SafetyPart.Output, outputDecision);
            context.ResponseHeaders[Header] = context.Safety!;
        }

        return completion;
    }

    /// <summary>The request's redacted values put back into each answer that was not withheld (after every check of it).</summary>
    private static void Restore(JsonArray choices, PlaceholderRestorer restorer)
    {
        static void In(JsonObject owner, string field, PlaceholderRestorer restorer)
        {
            if (owner[field] is JsonValue v && v.TryGetValue<string>(out var text)) owner[field] = restorer.Restore(text);
        }

        foreach (var message in choices.OfType<JsonObject>().Select(c => c["message"]).OfType<JsonObject>())
        {
            In(message, "content", restorer);
            foreach (var function in (message["tool_calls"] as JsonArray ?? []).Select(c => c?["function"]).OfType<JsonObject>()) In(function, "arguments", restorer);
        }
    }

    private static void Decide(GatewayContext context, Tally input)
    {
        context.SetSafety(SafetyPart.Input, input.Describe("input"));
        if (context.Safety is { } decided) context.ResponseHeaders[Header] = decided;
    }

    /// <summary>An answer the policy blocks is withheld, as the providers' own filters do.</summary>
    private static void Withhold(JsonObject choice)
    {
        if (choice["message"] is JsonObject message)
        {
            message["content"] = null;
            message.Remove("tool_calls");
        }

        choice["finish_reason"] = "content_filter";
    }

    /// <summary>
    /// Parallel mode: the model is called while the service checks the input, and the answer is held until the check
    /// passes — a stream's first byte too, since nothing is sent before this returns. A check that refuses first cancels
    /// the call; one that refuses after the answer came withholds it (billed at its usage — the provider charged for it).
    /// </summary>
    private async ValueTask<GatewayResult> CallWhileCheckingAsync(GatewayContext context, GatewayHandler next, Protocol.ChatRequest request, ContentSafetyRule rule, Tally input)
    {
        var client = context.Aborted;
        var linked = CancellationTokenSource.CreateLinkedTokenSource(client);
        // a stream may still read with the linked token after this returns: disposed when the request is done
        context.OnCompleted(() =>
        {
            linked.Dispose();
            return ValueTask.CompletedTask;
        });
        var check = CheckWithServiceAsync(request, rule, input, client);
        try
        {
            GatewayResult? result = null;
            Exception? failed = null;
            // the stages after this one see the linked token until the answer is back; then the client's again
            context.Aborted = linked.Token;
            try
            {
                var answer = next(context).AsTask();
                if (await Task.WhenAny(check, answer).ConfigureAwait(false) == check && !check.IsCompletedSuccessfully) await linked.CancelAsync().ConfigureAwait(false);
                result = await answer.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failed = ex;
            }
            finally
            {
                context.Aborted = client;
            }

            try
            {
                await check.ConfigureAwait(false);
            }
            catch
            {
                if (result is not null) await WithholdAsync(context, result).ConfigureAwait(false);
                throw;
            }

            if (failed is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
            return result!;
        }
        finally
        {
            Decide(context, input);
        }
    }

    /// <summary>An answer refused after it came: not sent, but billed — at its usage, or (a stream not yet read) at its prompt.</summary>
    private static async ValueTask WithholdAsync(GatewayContext context, GatewayResult result)
    {
        if (result is GatewayResult.Completion { Usage: { } usage })
        {
            context.WithheldUsage = usage;
            return;
        }

        if (result is GatewayResult.Streaming streaming) await streaming.Stream.DisposeAsync().ConfigureAwait(false);
        if (context.Deployment is { } deployment && context.CacheStatus is not ("hit" or "coalesced")) context.NoteBilledFailure(deployment);
    }

    /// <summary>
    /// Azure AI Content Safety on the answer (non-streamed): its text analysed with the rule's thresholds and blocklists
    /// and/or checked for protected material; an answer that fails is withheld (<c>finish_reason: "content_filter"</c>).
    /// When the service cannot answer, fail closed withholds it too; fail open lets it through flagged.
    /// </summary>
    private async Task CheckAnswerWithServiceAsync(JsonArray choices, ContentSafetyRule rule, Tally output, CancellationToken cancellationToken)
    {
        var answered = choices.OfType<JsonObject>().Where(c => c["message"]?["content"] is JsonValue v && v.TryGetValue<string>(out var t) && t.Length > 0).ToList();
        if (answered.Count == 0) return;
        var text = string.Join("\n", answered.Select(c => (string)c["message"]!["content"]!));
        var verdict = await contentSafety!.CheckAsync(text, null, [], rule.Blocklists, cancellationToken, analyze: rule.Output, protectedMaterial: rule.ProtectedMaterial).ConfigureAwait(false);
        if (verdict.Unavailable is not null)
        {
            output.AddNamed("content_safety.unavailable", rule.FailClosed ? SafetyAction.Block : SafetyAction.Flag);
            if (rule.FailClosed) answered.ForEach(Withhold);
            return;
        }

        var blocked = Refusals(verdict, rule, input: false);
        foreach (var b in blocked) output.AddNamed(b, SafetyAction.Block);
        if (blocked.Count > 0) answered.ForEach(Withhold);
    }

    /// <summary>The categories a verdict blocks under a rule, by name (<c>content_safety.hate</c>…).</summary>
    private static List<string> Refusals(ContentSafetyVerdict verdict, ContentSafetyRule rule, bool input)
    {
        var blocked = new List<string>();
        foreach (var (category, severity) in verdict.Severities)
        {
            if (rule.BlockAt.TryGetValue(category, out var at) && severity >= at) blocked.Add("content_safety." + category.ToLowerInvariant());
        }

        if (input && rule.PromptShield && verdict.PromptAttack) blocked.Add("content_safety.prompt_attack");
        if (input && rule.PromptShield && verdict.DocumentAttack) blocked.Add("content_safety.document_attack");
        if (verdict.BlocklistHits.Count > 0) blocked.Add("content_safety.blocklist");
        if (!input && verdict.ProtectedMaterial) blocked.Add("content_safety.protected_material");
        return blocked;
    }

    private void CheckInput(Protocol.ChatRequest request, Tally input, Dictionary<string, string> placeholders)
    {
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var node = request.Messages[i].Node;
            var content = node["content"];
            if (content is JsonValue)
            {
                Check(node, "content", $"messages[{I(i)}].content", input, placeholders, "request");
            }
            else if (content is JsonArray parts)
            {
                for (var p = 0; p < parts.Count; p++)
                {
                    if (parts[p] is JsonObject part && (string?)part["type"] == "text") Check(part, "text", $"messages[{I(i)}].content[{I(p)}].text", input, placeholders, "request");
                }
            }

            if (node["tool_calls"] is JsonArray calls)
            {
                for (var c = 0; c < calls.Count; c++)
                {
                    if (calls[c]?["function"] is JsonObject function) Check(function, "arguments", $"messages[{I(i)}].tool_calls[{I(c)}].function.arguments", input, placeholders, "request");
                }
            }
        }
    }

    /// <summary>
    /// Azure AI Content Safety on the input: every message's text analysed (tool results too), the last user message
    /// shielded as the prompt and tool results as documents. Blocks with 400 <c>content_filter</c> naming the category
    /// (<c>content_safety.hate</c>, <c>content_safety.prompt_attack</c>…); when the service cannot answer, the rule's
    /// fail mode: closed refuses with 503 <c>safety_unavailable</c>, open lets the request through flagged.
    /// </summary>
    private async Task CheckWithServiceAsync(Protocol.ChatRequest request, ContentSafetyRule rule, Tally input, CancellationToken cancellationToken)
    {
        var texts = request.Messages.Select(m => m.Text).Where(t => t.Length > 0).ToList();
        var documents = rule.PromptShield ? request.Messages.Where(m => m.Role == "tool").Select(m => m.Text).Where(t => t.Length > 0).ToList() : [];
        var prompt = rule.PromptShield ? request.Messages.LastOrDefault(m => m.Role == "user")?.Text : null;
        var verdict = await contentSafety!.CheckAsync(string.Join("\n", texts), prompt, documents, rule.Blocklists, cancellationToken).ConfigureAwait(false);
        if (verdict.Unavailable is { } why)
        {
            input.AddNamed("content_safety.unavailable", rule.FailClosed ? SafetyAction.Block : SafetyAction.Flag);
            if (rule.FailClosed)
                throw new GatewayException(new GatewayError(503, $"The content-safety service could not check the request ({why}); the safety policy '{policy.Name}' refuses unchecked requests. Retry shortly.",
                    "api_error", null, "safety_unavailable") { RetryAfterSeconds = 1 });
            return;
        }

        var blocked = Refusals(verdict, rule, input: true);
        foreach (var b in blocked) input.AddNamed(b, SafetyAction.Block);
        if (blocked.Count > 0)
            throw new GatewayException(new GatewayError(400, $"The request was blocked by the gateway's safety policy '{policy.Name}': {string.Join(", ", blocked)}.",
                "invalid_request_error", "messages", "content_filter"));
    }

    /// <summary>Scans one string field; redacts it in place, or throws (input) / reports (output) a block.</summary>
    private bool Check(JsonObject owner, string field, string path, Tally tally, Dictionary<string, string> placeholders, string? refuseAs)
    {
        if (owner[field] is not JsonValue value || !value.TryGetValue<string>(out var text)) return false;
        var scan = SafetyScanner.Scan(text, policy);
        if (scan.Findings.Count == 0) return false;
        tally.Add(scan, policy);
        if (scan.Action == SafetyAction.Block)
        {
            if (refuseAs is null) return true;
            var detectors = string.Join(", ", scan.Findings.Where(f => policy.Actions[f.Detector] == SafetyAction.Block).Select(f => f.Detector).Distinct());
            throw new GatewayException(new GatewayError(400,
                $"The {refuseAs} was blocked by the gateway's safety policy '{policy.Name}': {path} contains {detectors}. Remove it and retry.",
                "invalid_request_error", path, "content_filter"));
        }

        if (scan.Findings.Any(f => policy.Actions[f.Detector] == SafetyAction.Redact))
            owner[field] = SafetyScanner.Redact(text, scan, policy, placeholders);
        return false;
    }

    private static string I(int i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>Counts findings per action and detector, for the header and the record (names and counts only).</summary>
    private sealed class Tally
    {
        private readonly SortedDictionary<string, SortedDictionary<string, int>> _byAction = new(StringComparer.Ordinal);

        public void AddNamed(string detector, SafetyAction action)
        {
            var name = action.ToString().ToLowerInvariant();
            if (!_byAction.TryGetValue(name, out var counts)) _byAction[name] = counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            counts[detector] = counts.GetValueOrDefault(detector) + 1;
        }

        public void Add(ScanResult scan, SafetyPolicy policy)
        {
            foreach (var f in scan.Findings) AddNamed(f.Detector, policy.Actions[f.Detector]);
        }

        /// <summary>e.g. <c>input: redact card=1 email=2, flag ipv4=1</c>; null when nothing was found.</summary>
        public string? Describe(string where)
        {
            if (_byAction.Count == 0) return null;
            var text = new StringBuilder(where).Append(':');
            var first = true;
            foreach (var action in (string[])["block", "redact", "flag"])
            {
                if (!_byAction.TryGetValue(action, out var counts)) continue;
                text.Append(first ? " " : ", ").Append(action);
                foreach (var (detector, n) in counts) text.Append(' ').Append(detector).Append('=').Append(n.ToString(CultureInfo.InvariantCulture));
                first = false;
            }

            return text.ToString();
        }
    }
}
