using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// Finds ways to spend less in the usage records of a range, each with its evidence and an estimated saving per month
/// (what it would have saved over the range, scaled to 30 days):
/// <list type="bullet">
/// <item><see cref="RecommendationKind.CheaperModel"/>: traffic that fits a cheaper model of the same family (<see cref="CheaperModelAnalyzer"/>);</item>
/// <item><see cref="RecommendationKind.ResponseCache"/>: identical requests answered upstream again (<see cref="ResponseCacheAnalyzer"/>);</item>
/// <item><see cref="RecommendationKind.BatchApi"/>: non-interactive traffic at the provider's batch discount (<see cref="BatchApiAnalyzer"/>);</item>
/// <item><see cref="RecommendationKind.PromptCaching"/>: long prefixes sent again at the cached-input price (<see cref="PromptCachingAnalyzer"/>);</item>
/// <item><see cref="RecommendationKind.CheaperDeployment"/>: the same model for less on another deployment (<see cref="CheaperDeploymentAnalyzer"/>);</item>
/// <item><see cref="RecommendationKind.MaxTokens"/>: caps far above the answers, which hold reservations (<see cref="MaxTokensAnalyzer"/>).</item>
/// </list>
/// One pass over the records, whatever their order; the report is the same for the same records (largest saving first,
/// then by kind, scope and title). Records from before the request shape was kept (no <see cref="UsageRecord.RequestHash"/>)
/// count in the spend and in the kinds that need nothing more, and are left out of those that need it.
/// </summary>
public sealed class SavingsEngine
{
    private readonly PriceCatalog _prices;
    private readonly ModelCatalog _models;
    private readonly SavingsOptions _options;

    public SavingsEngine(PriceCatalog prices, ModelCatalog models, SavingsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prices);
        ArgumentNullException.ThrowIfNull(models);
        _prices = prices;
        _models = models;
        _options = options ?? new SavingsOptions();
        var errors = _options.Validate();
        if (errors.Count > 0) throw new ArgumentException("The savings settings are invalid:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)), nameof(options));
    }

    /// <summary>The recommendations for the records of [<paramref name="from"/>, <paramref name="to"/>) (others are skipped), observed until <paramref name="now"/>.</summary>
    public SavingsReport Analyze(IEnumerable<UsageRecord> records, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(records);
        var run = new Run(this, new SavingsWindow(from, to, now));
        if (run.Window.IsEmpty) return SavingsReport.Empty(from, to);
        foreach (var record in records) run.Add(record);
        return run.Report();
    }

    /// <inheritdoc cref="Analyze"/>
    public async Task<SavingsReport> AnalyzeAsync(IAsyncEnumerable<UsageRecord> records, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var run = new Run(this, new SavingsWindow(from, to, now));
        if (run.Window.IsEmpty) return SavingsReport.Empty(from, to);
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false)) run.Add(record);
        return run.Report();
    }

    /// <summary>One analysis: the spend and every kind's analyzer, fed each record of the window once.</summary>
    private sealed class Run
    {
        private readonly SavingsOptions _options;
        private readonly ISavingsAnalyzer[] _analyzers;
        private decimal _spend;
        private long _requests;

        public Run(SavingsEngine engine, SavingsWindow window)
        {
            Window = window;
            _options = engine._options;
            var pricing = new RecordPricing(engine._prices, engine._models, engine._options);
            _analyzers =
            [
                new CheaperModelAnalyzer(pricing, _options),
                new ResponseCacheAnalyzer(_options),
                new BatchApiAnalyzer(pricing, _options),
                new PromptCachingAnalyzer(pricing, _options),
                new CheaperDeploymentAnalyzer(pricing, _options),
                new MaxTokensAnalyzer(pricing, _options),
            ];
        }

        public SavingsWindow Window { get; }

        public void Add(UsageRecord record)
        {
            if (!Window.Contains(record.At)) return;
            _spend += record.CostUsd;
            _requests++;
            foreach (var analyzer in _analyzers) analyzer.Add(record);
        }

        public SavingsReport Report()
        {
            var recommendations = _analyzers.SelectMany(a => a.Recommend(Window))
                .Where(r => r.Kind == RecommendationKind.MaxTokens || (r.EstimatedMonthlySavingUsd > 0 && r.EstimatedMonthlySavingUsd >= _options.MinMonthlySavingUsd))
                .OrderByDescending(r => r.EstimatedMonthlySavingUsd)
                .ThenBy(r => r.Kind)
                .ThenBy(r => r.Scope.Kind, StringComparer.Ordinal)
                .ThenBy(r => r.Scope.Value, StringComparer.Ordinal)
                .ThenBy(r => r.Title, StringComparer.Ordinal)
                .ToList();
            return new SavingsReport(Window.From, Window.To, _spend, recommendations, recommendations.Sum(r => r.EstimatedMonthlySavingUsd))
            {
                Requests = _requests,
                ObservedDays = Window.Days,
                MonthlySpendUsd = Window.MonthlyUsd(_spend),
            };
        }
    }
}
