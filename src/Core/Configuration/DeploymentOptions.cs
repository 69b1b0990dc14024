namespace Gateway.Core.Configuration;

/// <summary>One upstream endpoint that serves a model: where it is, how to authenticate, how to weigh it.</summary>
public sealed class DeploymentOptions
{
    /// <summary>Unique name, shown in the <c>x-gateway-deployment</c> header and usage records.</summary>
    public string Name { get; set; } = "";
    /// <summary>openai, openai-compatible, azure-openai, anthropic or mock.</summary>
    public string Provider { get; set; } = "";
    /// <summary>The upstream model id (Azure OpenAI: the deployment name).</summary>
    public string Model { get; set; } = "";
    /// <summary>Base URL. Defaults: https://api.openai.com/v1 (openai), https://api.anthropic.com (anthropic).</summary>
    public string? Endpoint { get; set; }
    /// <summary>Name of the app setting that holds the provider key (the setting may be a Key Vault reference).</summary>
    public string? ApiKeySetting { get; set; }
    /// <summary>Azure OpenAI only: "key" (api-key header) or "entra" (managed identity / Azure.Identity token).</summary>
    public string Auth { get; set; } = "key";
    /// <summary>Azure OpenAI api-version query parameter.</summary>
    public string? ApiVersion { get; set; }
    /// <summary>Anthropic only: the anthropic-version header.</summary>
    public string AnthropicVersion { get; set; } = "2023-06-01";
    /// <summary>Anthropic only: max_tokens sent when the client gives none (Anthropic requires it).</summary>
    public int DefaultMaxTokens { get; set; } = 4096;
    /// <summary>Share of traffic among deployments of the same priority.</summary>
    public int Weight { get; set; } = 1;
    /// <summary>Lower is preferred; deployments of a higher number are used only when the lower ones cannot serve.</summary>
    public int Priority { get; set; }
    /// <summary>Whole-request timeout in seconds (for streams: until the last byte).</summary>
    public double TimeoutSeconds { get; set; } = 600;
    /// <summary>Streams only: how long the upstream may take to send the first chunk (counted from the request). A slow
    /// start fails over to the next deployment before anything reached the client. Unset: only the whole-request timeout.</summary>
    public double? FirstTokenTimeoutSeconds { get; set; }
    /// <summary>
    /// Streams only: the longest the upstream may go quiet between two events once streaming (a stall). A stall is a
    /// broken stream, recovered like a reset (see <see cref="Continuation"/>). Default 30 s; 0 turns it off.
    /// </summary>
    public double StreamIdleTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// How a stream that broke after its first byte is continued on this deployment: <c>prefill</c> (the partial answer
    /// as the last assistant message, which the model continues: Anthropic), <c>continue_final_message</c> (vLLM and other
    /// OpenAI-compatible servers that take it), <c>prefix</c> (Mistral's <c>prefix: true</c>), <c>instructed</c> (the
    /// partial answer and an instruction to go on, with any repeated text removed: OpenAI, Azure OpenAI), or <c>none</c>
    /// (never continued here). Default: by provider.
    /// </summary>
    public string? Continuation { get; set; }
    /// <summary>TCP connect timeout for new connections to this endpoint (default: Gateway:Http:ConnectTimeoutSeconds).</summary>
    public double? ConnectTimeoutSeconds { get; set; }
    /// <summary>Mock only: delay before the first token.</summary>
    public int MockLatencyMs { get; set; }
    /// <summary>Mock only: delay between streamed chunks.</summary>
    public int MockChunkDelayMs { get; set; }
    /// <summary>Mock only: number of words in a reply.</summary>
    public int MockCompletionTokens { get; set; } = 16;
    /// <summary>The provider's requests-per-minute quota for this deployment; the gateway shares it fairly among keys and never forwards beyond it.</summary>
    public long? RequestsPerMinute { get; set; }
    /// <summary>The provider's tokens-per-minute quota for this deployment (e.g. an Azure OpenAI deployment's TPM).</summary>
    public long? TokensPerMinute { get; set; }
    /// <summary>Price overrides (negotiated prices, discounts, volume tiers, the catalog model to price as).</summary>
    public DeploymentPricingOptions Pricing { get; set; } = new();
}
