namespace Gateway.Core.Savings;

/// <summary>Builds a recommendation's figures in order.</summary>
internal sealed class FigureList
{
    private readonly List<SavingsFigure> _figures = [];

    public FigureList Add(string name, decimal value)
    {
        _figures.Add(new SavingsFigure(name, value));
        return this;
    }

    public FigureList Add(string name, long value) => Add(name, (decimal)value);

    public SavingsEvidence With(string summary) => new(summary, [.. _figures]);
}
