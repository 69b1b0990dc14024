using System.Diagnostics;
using System.Globalization;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace Gateway.Deploy;

/// <summary>What the commands use from outside: settings, output, the clock, the publisher, HTTP, git.</summary>
public sealed class DeployContext
{
    public required Func<string, string?> Environment { get; init; }
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    public required IPublisher Publisher { get; init; }
    public required HttpClient Http { get; init; }
    public Func<CancellationToken, Task<string>> GitSha { get; init; } = GitShaAsync;

    /// <summary>The first 12 characters of <c>git rev-parse HEAD</c> in the current directory.</summary>
    public static async Task<string> GitShaAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "rev-parse", "--short=12", "HEAD" }) start.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(start) ?? throw new DeployException("could not start git");
            var sha = (await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).Trim();
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0 || sha.Length == 0) throw new DeployException("git rev-parse HEAD failed: run from the repository, or pass --sha");
            return sha;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new DeployException("git is not on the PATH: pass --sha");
        }
    }
}

/// <summary>
/// deploy | rollback | list | poison. Blobs are reached with Entra ID (Azure.Identity's DefaultAzureCredential: az login, a managed
/// identity, workload identity in CI), ARM with a token from the same credential. Nothing secret is ever printed.
/// </summary>
public static class DeployCli
{
    /// <summary>A connection string for the deployment storage instead of Entra ID (Azurite, local).</summary>
    public const string StorageVariable = "GATEWAY_DEPLOY_STORAGE";

    /// <summary>Azure Resource Manager's endpoint (default https://management.azure.com/; another cloud's, or a local server in tests).</summary>
    public const string ArmEndpointVariable = "GATEWAY_DEPLOY_ARM_ENDPOINT";

    /// <summary>A bearer token for ARM to use instead of Azure.Identity (e.g. from az account get-access-token in CI).</summary>
    public const string AccessTokenVariable = "GATEWAY_DEPLOY_ACCESS_TOKEN";

    public const int DefaultKeep = 5;

    public const string Usage = """
        Usage:
          deploy   --container-url <url> --app-id <resource id> [--project <dir>] [--package <zip>] [--sha <sha>] [--keep <n>]
          rollback --container-url <url> --app-id <resource id> [--to <package>]
          list     --container-url <url>
          poison   --queue-url <url> --queue <name> [--replay <n>]

          --container-url  the app's deployment container (Bicep output deploymentContainerUrl)
          --app-id         the function app's resource ID (Bicep output functionAppId)
          --project        the Functions project to publish (default src/Functions)
          --package        deploy this zip instead of publishing
          --sha            the commit the package is built from (default: git rev-parse HEAD)
          --keep           packages kept in the container, the released one always among them (default 5)
          --to             the package to roll back to (default: the one before the released one)
          --queue-url      the storage account's queue endpoint: https://<account>.queue.core.windows.net
          --queue          the queue whose <queue>-poison queue to count (and replay)
          --replay         move up to this many poison messages back to the queue

        Environment: GATEWAY_DEPLOY_STORAGE (a connection string instead of Entra ID, e.g. Azurite),
        GATEWAY_DEPLOY_ARM_ENDPOINT (default https://management.azure.com/), GATEWAY_DEPLOY_ACCESS_TOKEN (an ARM token
        instead of Azure.Identity).
        """;

    private static readonly Dictionary<string, string[]> Options = new(StringComparer.Ordinal)
    {
        ["deploy"] = ["--container-url", "--app-id", "--project", "--package", "--sha", "--keep"],
        ["rollback"] = ["--container-url", "--app-id", "--to"],
        ["list"] = ["--container-url"],
        ["poison"] = ["--queue-url", "--queue", "--replay"],
    };

    public static async Task<int> RunAsync(string[] args, DeployContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        if (args.Length == 0 || args[0] is "-h" or "--help" || (args.Length > 1 && args[1] is "-h" or "--help"))
        {
            context.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        if (!Options.TryGetValue(args[0], out var allowed)) return Fail(context, $"unknown command '{args[0]}'", usage: true);
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            if (!allowed.Contains(args[i])) return Fail(context, $"unknown option '{args[i]}' for {args[0]}", usage: true);
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)) return Fail(context, $"{args[i]} needs a value", usage: true);
            options[args[i]] = args[++i];
        }

        try
        {
            if (args[0] == "poison")
            {
                await PoisonAsync(options, context, cancellationToken).ConfigureAwait(false);
                return 0;
            }

            var store = new PackageStore(Container(Required(options, "--container-url"), context));
            switch (args[0])
            {
                case "list":
                    await ListAsync(store, context, cancellationToken).ConfigureAwait(false);
                    return 0;
                case "deploy":
                    await DeployAsync(store, Arm(context), options, context, cancellationToken).ConfigureAwait(false);
                    return 0;
                default:
                    await RollbackAsync(store, Arm(context), options, context, cancellationToken).ConfigureAwait(false);
                    return 0;
            }
        }
        catch (DeployException e)
        {
            return Fail(context, e.Message);
        }
        catch (Azure.RequestFailedException e)
        {
            // the service's error code and status, not its message (which may quote a URL with a query string)
            return Fail(context, $"storage answered {e.Status} {e.ErrorCode}");
        }
        catch (AuthenticationFailedException)
        {
            return Fail(context, "could not get an Entra ID token: sign in (az login) or run where a managed or workload identity is available");
        }
    }

    private static async Task DeployAsync(PackageStore store, ArmClient arm, Dictionary<string, string> options, DeployContext context, CancellationToken cancellationToken)
    {
        var appId = AppId(options);
        var keep = options.TryGetValue("--keep", out var k) ? int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
            : throw new DeployException("--keep must be a whole number, 1 or more") : DefaultKeep;
        var sha = options.TryGetValue("--sha", out var given) ? given : await context.GitSha(cancellationToken).ConfigureAwait(false);
        if (sha.Length == 0 || !sha.All(char.IsAsciiLetterOrDigit)) throw new DeployException("--sha must be letters and digits");
        var name = PackageStore.PackageName(context.Time.GetUtcNow(), sha);

        string zip;
        string? temporary = null;
        if (options.TryGetValue("--package", out var package))
        {
            if (!File.Exists(package)) throw new DeployException($"--package {package}: no such file");
            zip = package;
        }
        else
        {
            temporary = Path.Combine(Path.GetTempPath(), "gateway-deploy-" + Guid.NewGuid().ToString("N") + ".zip");
            var project = options.GetValueOrDefault("--project", "src/Functions");
            await context.Publisher.PublishAsync(project, temporary, cancellationToken).ConfigureAwait(false);
            zip = temporary;
        }

        try
        {
            var bytes = await store.UploadAsync(name, zip, cancellationToken).ConfigureAwait(false);
            context.Out.WriteLine($"uploaded {PackageStore.Prefix}{name} ({bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
        }
        finally
        {
            if (temporary is not null && File.Exists(temporary)) File.Delete(temporary);
        }

        await ReleaseAndRestartAsync(store, arm, appId, name, context, cancellationToken).ConfigureAwait(false);
        var deleted = await store.PruneAsync(keep, cancellationToken).ConfigureAwait(false);
        foreach (var old in deleted) context.Out.WriteLine($"deleted {PackageStore.Prefix}{old} (keeping {keep})");
    }

    private static async Task RollbackAsync(PackageStore store, ArmClient arm, Dictionary<string, string> options, DeployContext context, CancellationToken cancellationToken)
    {
        var appId = AppId(options);
        var packages = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        var current = await store.CurrentAsync(cancellationToken).ConfigureAwait(false);
        string target;
        if (options.TryGetValue("--to", out var to))
        {
            if (!packages.Contains(to)) throw new DeployException($"no package '{to}' in the container (list shows what is kept)");
            if (to == current) throw new DeployException($"'{to}' is the released package already");
            target = to;
        }
        else
        {
            var index = current is null ? -1 : IndexOf(packages, current);
            if (index < 0) throw new DeployException("the released package is not one this tool deployed: roll back with --to <package>");
            if (index == 0) throw new DeployException($"'{current}' is the oldest package kept: there is none before it");
            target = packages[index - 1];
        }

        context.Out.WriteLine($"rolling back from {current ?? "(unknown)"} to {target}");
        await ReleaseAndRestartAsync(store, arm, appId, target, context, cancellationToken).ConfigureAwait(false);
    }

    private static async Task ReleaseAndRestartAsync(PackageStore store, ArmClient arm, string appId, string name, DeployContext context, CancellationToken cancellationToken)
    {
        await store.ReleaseAsync(name, cancellationToken).ConfigureAwait(false);
        context.Out.WriteLine($"released {name} as {PackageStore.ReleasedBlob}");
        await arm.RestartAsync(appId, cancellationToken).ConfigureAwait(false);
        await arm.SyncTriggersAsync(appId, cancellationToken).ConfigureAwait(false);
        context.Out.WriteLine($"restarted {appId.Split('/')[^1]} and synced its triggers");
    }

    private static async Task ListAsync(PackageStore store, DeployContext context, CancellationToken cancellationToken)
    {
        var packages = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        var current = await store.CurrentAsync(cancellationToken).ConfigureAwait(false);
        if (packages.Count == 0) context.Out.WriteLine("no packages");
        foreach (var name in packages) context.Out.WriteLine((name == current ? "* " : "  ") + name);
    }

    private static async Task PoisonAsync(Dictionary<string, string> options, DeployContext context, CancellationToken cancellationToken)
    {
        var url = Required(options, "--queue-url");
        var name = Required(options, "--queue");
        if (name.Length is < 3 or > 56 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            throw new DeployException("--queue must be a queue name: lowercase letters, digits and hyphens");
        var replay = options.TryGetValue("--replay", out var r) ? int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
            : throw new DeployException("--replay must be a whole number, 1 or more") : 0;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            throw new DeployException("--queue-url must be the account's queue endpoint: https://<account>.queue.core.windows.net");
        QueueClient Client(string queue) => context.Environment(StorageVariable) is { Length: > 0 } connection
            ? new QueueClient(connection, queue)
            : uri.Scheme == "https" ? new QueueClient(new Uri(uri, queue), new DefaultAzureCredential())
            : throw new DeployException("--queue-url must be https (Entra ID tokens are sent over TLS only)");
        var poison = new PoisonQueue(Client(name), Client(name + "-poison"));
        context.Out.WriteLine($"{name}-poison: {(await poison.CountAsync(cancellationToken).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture)} messages");
        if (replay == 0) return;
        var moved = await poison.ReplayAsync(replay, cancellationToken).ConfigureAwait(false);
        context.Out.WriteLine($"moved {moved.ToString(CultureInfo.InvariantCulture)} messages back to {name}");
    }

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
            if (list[i] == value) return i;
        return -1;
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? value : throw new DeployException($"{name} is required");

    private static string AppId(Dictionary<string, string> options)
    {
        var appId = Required(options, "--app-id");
        return ArmClient.IsSiteId(appId) ? appId
            : throw new DeployException("--app-id must be a function app's resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Web/sites/<name>");
    }

    private static BlobContainerClient Container(string url, DeployContext context)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.AbsolutePath.Trim('/').Length == 0)
            throw new DeployException("--container-url must be the container's URL: https://<account>.blob.core.windows.net/<container>");
        if (context.Environment(StorageVariable) is { Length: > 0 } connection)
            return new BlobContainerClient(connection, uri.AbsolutePath.TrimEnd('/').Split('/')[^1]);
        if (uri.Scheme != "https") throw new DeployException("--container-url must be https (Entra ID tokens are sent over TLS only)");
        return new BlobContainerClient(uri, new DefaultAzureCredential());
    }

    private static ArmClient Arm(DeployContext context)
    {
        var endpoint = new Uri(context.Environment(ArmEndpointVariable) is { Length: > 0 } e ? e : "https://management.azure.com/");
        IArmTokenSource tokens = context.Environment(AccessTokenVariable) is { Length: > 0 } token
            ? new StaticToken(token)
            : new CredentialToken(new DefaultAzureCredential(), new Uri(endpoint, "/.default").ToString());
        return new ArmClient(context.Http, endpoint, tokens);
    }

    private static int Fail(DeployContext context, string message, bool usage = false)
    {
        context.Error.WriteLine("error: " + message);
        if (usage) context.Error.WriteLine(Usage);
        return usage ? 2 : 1;
    }

    private sealed class StaticToken(string token) : IArmTokenSource
    {
        public Task<string> GetTokenAsync(CancellationToken cancellationToken) => Task.FromResult(token);
    }

    private sealed class CredentialToken(TokenCredential credential, string scope) : IArmTokenSource
    {
        public async Task<string> GetTokenAsync(CancellationToken cancellationToken) =>
            (await credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken).ConfigureAwait(false)).Token;
    }
}
