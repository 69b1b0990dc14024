using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Entities;

/// <summary>One entity: its kind's name and its key.</summary>
public readonly record struct EntityAddress(string Kind, string Key)
{
    /// <summary>
    /// The key as stored: Durable keeps entities in Table Storage, whose keys may not hold / \ # ? or control characters
    /// and are bounded, so a key with any of those (an end user's id can hold anything) is replaced by a hash of itself.
    /// The state itself always carries the readable name (e.g. the budget's scope).
    /// </summary>
    public static string StorageKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length is > 0 and <= 200 && key.All(c => c is > ' ' and < '\u007f' and not ('/' or '\\' or '#' or '?' or '@'))) return key;
        return "h~" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }
}
