// What a running .NET process's live objects are, by type and by who holds them, for the host benchmark's heap
// snapshots (bench/host/run.sh, BENCH_HEAPWALK): attaches to the process (suspending it while it reads), marks what is
// reachable from the roots, and writes one line per (type, size class, holders) with the bytes and the count:
//
//   bytes <TAB> count <TAB> type <TAB> size class (arrays of 1 KiB or more: 1-2K, 2-4K, 4K, 4-16K, >=16K) <TAB> holders
//
// "holders" is one path of up to four referrers, nearest first (the first found while marking, so one of possibly many).
// Needs ptrace rights over the process (root, or the same user with ptrace_scope 0). "diff" subtracts two such lists and
// prints what was added per request (N requests in flight at the second), by type and nearest two holders, largest first.
//   dotnet Gateway.Bench.HeapWalk.dll PID OUT.tsv
//   dotnet Gateway.Bench.HeapWalk.dll diff BEFORE.tsv AFTER.tsv N [LINES]
using System.Globalization;
using Microsoft.Diagnostics.Runtime;

if (args is ["diff", var before, var after, var perText, ..] && int.TryParse(perText, CultureInfo.InvariantCulture, out var per) && per > 0)
{
    var lines = args.Length > 4 && int.TryParse(args[4], CultureInfo.InvariantCulture, out var n) ? n : 25;
    Diff(Load(before), Load(after), per, lines);
    return 0;
}

if (args.Length != 2 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var pid))
{
    Console.Error.WriteLine("usage: Gateway.Bench.HeapWalk PID OUT.tsv | diff BEFORE.tsv AFTER.tsv N [LINES]");
    return 2;
}

using var target = DataTarget.AttachToProcess(pid, suspend: true);
using var runtime = target.ClrVersions[0].CreateRuntime();
var heap = runtime.Heap;

// mark: every object reachable from a root, with the object it was first reached from
var parent = new Dictionary<ulong, ulong>();
var pending = new Stack<ulong>();
foreach (var root in heap.EnumerateRoots())
{
    var address = root.Object.Address;
    if (address != 0 && parent.TryAdd(address, 0)) pending.Push(address);
}

while (pending.Count > 0)
{
    var item = heap.GetObject(pending.Pop());
    if (!item.IsValid) continue;
    foreach (var reference in item.EnumerateReferenceAddresses(carefully: true))
    {
        if (reference != 0 && parent.TryAdd(reference, item.Address)) pending.Push(reference);
    }
}

var groups = new Dictionary<string, (long Bytes, long Count)>();
foreach (var address in parent.Keys)
{
    var item = heap.GetObject(address);
    if (!item.IsValid || item.Type is null) continue;
    var size = (long)item.Size;
    var holders = new List<string>();
    for (var up = parent[address]; up != 0 && holders.Count < 4; up = parent.GetValueOrDefault(up))
        holders.Add(heap.GetObject(up).Type?.Name?.Split('.')[^1] ?? "?");
    var sizeClass = !item.Type.IsArray || size < 1024 ? ""
        : size >= 16384 ? ">=16K" : size > 4200 ? "4-16K" : size >= 4096 ? "4K" : size >= 2048 ? "2-4K" : "1-2K";
    var key = $"{item.Type.Name}\t{sizeClass}\t{string.Join(" <- ", holders)}";
    var (bytes, count) = groups.GetValueOrDefault(key);
    groups[key] = (bytes + size, count + 1);
}

await using (var output = new StreamWriter(args[1]))
{
    foreach (var (key, (bytes, count)) in groups.OrderByDescending(g => g.Value.Bytes))
        await output.WriteLineAsync(FormattableString.Invariant($"{bytes}\t{count}\t{key}"));
}

Console.WriteLine(FormattableString.Invariant($"{parent.Count} live objects, {groups.Values.Sum(g => g.Bytes)} bytes"));
return 0;

// (type, size class, nearest two holders) -> (bytes, count)
static Dictionary<string, (long Bytes, long Count)> Load(string path)
{
    var groups = new Dictionary<string, (long Bytes, long Count)>();
    foreach (var line in File.ReadLines(path))
    {
        var parts = line.Split('\t');
        if (parts.Length < 5) continue;
        var key = $"{parts[2]} {(parts[3].Length > 0 ? $"[{parts[3]}] " : "")}<- {string.Join(" <- ", parts[4].Split(" <- ").Take(2))}";
        var (bytes, count) = groups.GetValueOrDefault(key);
        groups[key] = (bytes + long.Parse(parts[0], CultureInfo.InvariantCulture), count + long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    return groups;
}

static void Diff(Dictionary<string, (long Bytes, long Count)> before, Dictionary<string, (long Bytes, long Count)> after, int per, int lines)
{
    var rows = before.Keys.Union(after.Keys)
        .Select(key => (Key: key, Bytes: after.GetValueOrDefault(key).Bytes - before.GetValueOrDefault(key).Bytes,
            Count: after.GetValueOrDefault(key).Count - before.GetValueOrDefault(key).Count))
        .OrderByDescending(row => row.Bytes).ToList();
    Console.WriteLine(FormattableString.Invariant($"    {rows.Sum(row => row.Bytes) / 1024.0 / per:F1} KiB of live objects added per request; the largest, per request:"));
    foreach (var (key, bytes, count) in rows.Take(lines))
        Console.WriteLine(FormattableString.Invariant($"    {bytes / (double)per,8:F0} B {count / (double)per,6:F2} objects  {(key.Length > 160 ? key[..160] : key)}"));
}
