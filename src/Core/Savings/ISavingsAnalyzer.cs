using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>One kind of saving: it sees every record of the range once, keeping what it needs, then recommends.</summary>
internal interface ISavingsAnalyzer
{
    void Add(UsageRecord record);

    IEnumerable<Recommendation> Recommend(SavingsWindow window);
}
