using Gateway.Core.Usage;

namespace Gateway.Core.Privacy;

/// <summary>
/// One end user's raw usage records, found through a per-user index the usage writer keeps beside the records (the
/// records themselves are filed by time, so finding a user among them would read them all). <c>storedUser</c> is the
/// value the records hold: the plain id, or its pseudonym.
/// </summary>
public interface IUserUsageRecords
{
    /// <summary>The user's records, streamed; none for a user never seen.</summary>
    IAsyncEnumerable<UsageRecord> ReadUserAsync(string storedUser, CancellationToken cancellationToken);

    /// <summary>Deletes the user's records and returns how many there were; the index stays (it still finds their
    /// rollups) until <see cref="ForgetUserAsync"/>. Deleting again deletes nothing.</summary>
    Task<long> DeleteUserAsync(string storedUser, CancellationToken cancellationToken);

    /// <summary>Deletes the user's index: the last step of an erasure, once nothing else needs to be found.</summary>
    Task ForgetUserAsync(string storedUser, CancellationToken cancellationToken);
}

/// <summary>The rollup rows of the <c>user</c> dimension whose value is one end user, at every granularity.</summary>
public interface IUserRollups
{
    IAsyncEnumerable<RollupRow> ReadUserAsync(string storedUser, CancellationToken cancellationToken);

    /// <summary>Deletes them and returns how many there were; rows of other dimensions are aggregates without the user
    /// and stay. Deleting again deletes nothing.</summary>
    Task<long> DeleteUserAsync(string storedUser, CancellationToken cancellationToken);
}
