namespace Gateway.Functions;

/// <summary>At start-up: settings that fail validation stop the app, naming every problem, rather than the first request.</summary>
internal static class StartupSettings
{
    /// <summary>Throws when <paramref name="errors"/> has any: "The {what} settings are invalid:" and one line each.</summary>
    public static void Demand(string what, IEnumerable<string> errors)
    {
        var list = errors.ToList();
        if (list.Count > 0)
            throw new InvalidOperationException($"The {what} settings are invalid:" + Environment.NewLine + string.Join(Environment.NewLine, list.Select(e => "  - " + e)));
    }
}
