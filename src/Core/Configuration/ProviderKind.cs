namespace Gateway.Core.Configuration;

/// <summary>The wire protocols the gateway can speak upstream.</summary>
public static class ProviderKind
{
    public const string OpenAi = "openai";
    public const string OpenAiCompatible = "openai-compatible";
    public const string AzureOpenAi = "azure-openai";
    public const string Anthropic = "anthropic";
    public const string Mock = "mock";

    public static readonly IReadOnlyList<string> All = [OpenAi, OpenAiCompatible, AzureOpenAi, Anthropic, Mock];
}
