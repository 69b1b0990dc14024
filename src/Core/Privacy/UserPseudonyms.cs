using Gateway.Core.Audit;

namespace Gateway.Core.Privacy;

/// <summary>
/// How an end user is written on usage records: the plain id, or — where <see cref="PrivacyOptions"/> asks for it, for
/// everyone or per team — its keyed hash, so the usage log and its rollups never hold the plain id.
/// </summary>
public sealed class UserPseudonyms
{
    private readonly PrivacyOptions _options;
    private readonly SubjectHasher? _hasher;

    /// <exception cref="InvalidOperationException">Pseudonyms are asked for (anywhere) and there is no pepper.</exception>
    public UserPseudonyms(PrivacyOptions options, SubjectHasher? hasher)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (hasher is null && (options.PseudonymizeUsers || options.Teams.Values.Any(on => on)))
            throw new InvalidOperationException($"Gateway:Privacy:PseudonymizeUsers (or a team's) is on but {PrivacyPepper.Setting} is not set: the hashes need a secret pepper.");
        _options = options;
        _hasher = hasher;
    }

    /// <summary>The value a usage record holds for this user of this team.</summary>
    public string? Stored(string? user, string? team)
    {
        if (user is null || _hasher is null) return user;
        var on = team is not null && _options.Teams.TryGetValue(team, out var teamSetting) ? teamSetting : _options.PseudonymizeUsers;
        return on ? _hasher.Hash(user) : user;
    }
}
