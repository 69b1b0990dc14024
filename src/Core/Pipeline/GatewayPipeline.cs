namespace Gateway.Core.Pipeline;

/// <summary>The ordered stages, composed once; the last stage must not call <c>next</c>.</summary>
public sealed class GatewayPipeline
{
    private readonly GatewayHandler _entry;

    public GatewayPipeline(IEnumerable<IGatewayStage> stages)
    {
        GatewayHandler handler = static _ => throw new InvalidOperationException("The pipeline has no terminal stage that produced a result.");
        var list = stages.ToList();
        Stages = list;
        for (var i = list.Count - 1; i >= 0; i--)
        {
            var stage = list[i];
            var next = handler;
            handler = context => stage.InvokeAsync(context, next);
        }
        _entry = handler;
    }

    public IReadOnlyList<IGatewayStage> Stages { get; }

    public ValueTask<GatewayResult> RunAsync(GatewayContext context) => _entry(context);
}
