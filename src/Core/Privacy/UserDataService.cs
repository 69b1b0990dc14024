using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gateway.Core.Audit;
using Gateway.Core.Caching;
using Gateway.Core.Usage;

namespace Gateway.Core.Privacy;

/// <summary>What an erasure removed, by kind, and how long it took.</summary>
public sealed record UserDataErasure(string Subject, long UsageRecords, long Rollups, long CachedAnswers, TimeSpan Duration, long LoggedContent = 0)
{
    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["subject"] = Subject,
        ["usageRecords"] = UsageRecords,
        ["rollups"] = Rollups,
        ["cachedAnswers"] = CachedAnswers,
        ["loggedContent"] = LoggedContent,
        ["durationMs"] = (long)Duration.TotalMilliseconds,
    };
}

/// <summary>What an export held, by kind.</summary>
public sealed record UserDataExportCounts(long UsageRecords, long Rollups, long CachedAnswers, long AuditEvents, long LoggedContent = 0);

/// <summary>
/// An end user's data, for the data subject's rights: access and portability (GDPR Art. 15 and 20: one JSON document of
/// everything the gateway keeps about them) and erasure (Art. 17). The user is named by their plain id; both it and its
/// keyed hash are looked up, so records written while pseudonyms were on (for everyone or for the user's team) are found
/// too.
/// <list type="bullet">
/// <item>Kept about a user: their usage records, the rollup rows of the <c>user</c> dimension with their value, the cached
/// answers their requests created (found through the records, which name the cache entry a request stored; only records
/// younger than the longest cache ttl can have one left), their logged prompts and answers (already redacted, where
/// content logging is on), and audit events whose subject is their hash.</item>
/// <item>Erasure removes the first four — in an order that keeps what finds the rest until the end (cached answers,
/// records, rollups, then the index), so a run that fails half-way is finished by running it again — and leaves the
/// other dimensions' rollups, which are totals without the user, and the audit log, which holds only the hash.</item>
/// <item>Both record an audit event (<see cref="AuditEventTypes.UserDataExported"/>, <see cref="AuditEventTypes.UserDataErased"/>)
/// whose subject is the hash and whose details are counts: the plain id is never in it.</item>
/// <item>An unknown user is not an error: an empty export, an erasure of nothing.</item>
/// </list>
/// Without a pepper (<see cref="PrivacyPepper"/>) there is no hash to record: both answer 403 <c>privacy_disabled</c>.
/// </summary>
public sealed class UserDataService(IUserUsageRecords records, IUserRollups rollups, ICacheStore cache, CacheOptions cacheOptions, IAuditSink audit,
    SubjectHasher? subjects, TimeProvider time, IAuditSubjectSearch? auditSearch = null, IContentLogStore? content = null)
{
    /// <summary>The longest user id accepted (the longest one a request may name).</summary>
    public const int MaxUserIdLength = 256;

    private const int FlushEvery = 256;

    private static readonly JsonSerializerOptions AuditJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Checks a user id from a route: 400 naming <paramref name="param"/> when empty or too long.</summary>
    public static string ValidateUserId(string? id, string param = "id")
    {
        if (string.IsNullOrWhiteSpace(id)) throw Errors.Errors.InvalidRequest("A user id is required.", param, "missing_required_parameter");
        if (id.Length > MaxUserIdLength)
            throw Errors.Errors.InvalidRequest($"The user id is longer than {MaxUserIdLength} characters.", param, "string_above_max_length");
        return id;
    }

    /// <summary>
    /// Writes the user's data to <paramref name="output"/> as one JSON document,
    /// <c>{"user","generatedAt","usageRecords":[…],"rollups":[…],"cachedAnswers":[…],"loggedContent":[…],"auditEvents":[…]}</c>, streamed
    /// as it is read (flushed every few hundred items), then records the export in the audit log.
    /// </summary>
    public async Task<UserDataExportCounts> ExportAsync(string user, string actor, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var subject = Subject(user);
        var json = new Utf8JsonWriter(output);
        UserDataExportCounts counts;
        await using (json.ConfigureAwait(false))
        {
            json.WriteStartObject();
            json.WriteString("user", user);
            json.WriteString("generatedAt", time.GetUtcNow());

            json.WritePropertyName("usageRecords");
            json.WriteStartArray();
            long recordCount = 0;
            var cached = new List<(string Key, string RequestId)>();
            var cacheHorizon = CacheHorizon();
            foreach (var stored in StoredValues(user, subject))
            {
                await foreach (var record in records.ReadUserAsync(stored, cancellationToken).ConfigureAwait(false))
                {
                    json.WriteRawValue(UsageRecordCodec.EncodeUtf8(record), skipInputValidation: true);
                    if (record.CacheKey is { } key && record.At >= cacheHorizon) cached.Add((key, record.RequestId));
                    if (++recordCount % FlushEvery == 0) await json.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            json.WriteEndArray();

            json.WritePropertyName("rollups");
            json.WriteStartArray();
            long rollupCount = 0;
            foreach (var stored in StoredValues(user, subject))
            {
                await foreach (var row in rollups.ReadUserAsync(stored, cancellationToken).ConfigureAwait(false))
                {
                    WriteRollup(json, row);
                    if (++rollupCount % FlushEvery == 0) await json.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            json.WriteEndArray();

            json.WritePropertyName("cachedAnswers");
            json.WriteStartArray();
            long cachedCount = 0;
            foreach (var (key, requestId) in cached)
            {
                if (await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } entry || entry.RequestId != requestId) continue;
                WriteCachedAnswer(json, key, entry);
                if (++cachedCount % FlushEvery == 0) await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            json.WriteEndArray();

            json.WritePropertyName("loggedContent");
            json.WriteStartArray();
            long contentCount = 0;
            if (content is not null)
            {
                foreach (var stored in StoredValues(user, subject))
                {
                    await foreach (var entry in content.ReadUserAsync(stored, cancellationToken).ConfigureAwait(false))
                    {
                        json.WriteRawValue(JsonSerializer.SerializeToUtf8Bytes(entry, AuditJson), skipInputValidation: true);
                        if (++contentCount % FlushEvery == 0) await json.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            json.WriteEndArray();

            json.WritePropertyName("auditEvents");
            json.WriteStartArray();
            long auditCount = 0;
            if (auditSearch is not null)
            {
                await foreach (var auditEvent in auditSearch.FindBySubjectAsync(subject, cancellationToken).ConfigureAwait(false))
                {
                    // serialized apart: JsonSerializer.Serialize(writer, …) flushes the writer synchronously, which a response stream refuses
                    json.WriteRawValue(JsonSerializer.SerializeToUtf8Bytes(auditEvent, AuditJson), skipInputValidation: true);
                    if (++auditCount % FlushEvery == 0) await json.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            counts = new UserDataExportCounts(recordCount, rollupCount, cachedCount, auditCount, contentCount);
        }

        Record(AuditEventTypes.UserDataExported, actor, subject, new Dictionary<string, string>
        {
            ["usageRecords"] = Text(counts.UsageRecords),
            ["rollups"] = Text(counts.Rollups),
            ["cachedAnswers"] = Text(counts.CachedAnswers),
            ["auditEvents"] = Text(counts.AuditEvents),
            ["loggedContent"] = Text(counts.LoggedContent),
        });
        return counts;
    }

    /// <summary>
    /// Erases the user's usage records, their rollup rows and the cached answers their requests created; idempotent, and
    /// safe to run again after a failure (each step deletes what is left). Records the erasure in the audit log.
    /// </summary>
    public async Task<UserDataErasure> EraseAsync(string user, string actor, CancellationToken cancellationToken)
    {
        var subject = Subject(user);
        var started = time.GetTimestamp();
        long cachedAnswers = 0, usageRecords = 0, rollupRows = 0;
        var stored = StoredValues(user, subject);

        // Cached answers first: the records are what finds them.
        var horizon = CacheHorizon();
        foreach (var value in stored)
        {
            await foreach (var record in records.ReadUserAsync(value, cancellationToken).ConfigureAwait(false))
            {
                if (record.CacheKey is { } key && record.At >= horizon && await RemoveCachedAsync(key, record.RequestId, cancellationToken).ConfigureAwait(false))
                    cachedAnswers++;
            }
        }

        // Records before rollups: a rollup run from now on no longer counts the user in; the index that finds the rollup
        // rows stays until they are gone.
        long loggedContent = 0;
        if (content is not null)
        {
            foreach (var value in stored) loggedContent += await content.DeleteUserAsync(value, cancellationToken).ConfigureAwait(false);
        }

        foreach (var value in stored) usageRecords += await records.DeleteUserAsync(value, cancellationToken).ConfigureAwait(false);
        foreach (var value in stored) rollupRows += await rollups.DeleteUserAsync(value, cancellationToken).ConfigureAwait(false);
        foreach (var value in stored) await records.ForgetUserAsync(value, cancellationToken).ConfigureAwait(false);

        var erasure = new UserDataErasure(subject, usageRecords, rollupRows, cachedAnswers, time.GetElapsedTime(started), loggedContent);
        Record(AuditEventTypes.UserDataErased, actor, subject, new Dictionary<string, string>
        {
            ["usageRecords"] = Text(erasure.UsageRecords),
            ["rollups"] = Text(erasure.Rollups),
            ["cachedAnswers"] = Text(erasure.CachedAnswers),
            ["loggedContent"] = Text(erasure.LoggedContent),
            ["durationMs"] = Text((long)erasure.Duration.TotalMilliseconds),
        });
        return erasure;
    }

    /// <summary>The user's hash; 403 when no pepper is configured (nothing could stand for the user in the audit log).</summary>
    private string Subject(string user)
    {
        ValidateUserId(user);
        if (subjects is null)
            throw new Errors.GatewayException(new Errors.GatewayError(403,
                $"End-user export and erasure are disabled: no pepper for end-user hashes is configured (setting {PrivacyPepper.Setting}).",
                "permission_error", null, "privacy_disabled"));
        return subjects.Hash(user);
    }

    /// <summary>The values records may hold for the user: the plain id and its pseudonym.</summary>
    private static string[] StoredValues(string user, string subject) => user == subject ? [user] : [user, subject];

    /// <summary>Records older than the longest ttl cannot have created an entry that still lives.</summary>
    private DateTimeOffset CacheHorizon() => time.GetUtcNow() - TimeSpan.FromSeconds(Math.Max(cacheOptions.MaxTtlSeconds, cacheOptions.DefaultTtlSeconds));

    /// <summary>Removes an entry only if this request created it: a later request may have replaced it with its own answer.</summary>
    private async Task<bool> RemoveCachedAsync(string key, string requestId, CancellationToken cancellationToken)
    {
        if (cache is not ICacheEntryRemoval removal) return false;
        if (await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } entry || entry.RequestId != requestId) return false;
        return await removal.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
    }

    private void Record(string type, string actor, string subject, IReadOnlyDictionary<string, string> details) => audit.Record(new AuditEvent
    {
        Id = "audit_" + Guid.NewGuid().ToString("N"),
        At = time.GetUtcNow(),
        Type = type,
        Actor = actor,
        Scope = "user:" + subject,
        Subject = subject,
        Details = details,
    });

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void WriteRollup(Utf8JsonWriter json, RollupRow row)
    {
        var t = row.Totals;
        json.WriteStartObject();
        json.WriteString("granularity", row.Granularity switch
        {
            Granularity.FiveMinutes => "5m",
            Granularity.Hour => "hour",
            Granularity.Day => "day",
            _ => "month",
        });
        json.WriteString("start", row.Start);
        json.WriteString("dimension", row.Dimension);
        json.WriteString("value", row.Value);
        json.WriteNumber("requests", t.Requests);
        json.WriteNumber("errors", t.Errors);
        json.WriteNumber("promptTokens", t.PromptTokens);
        json.WriteNumber("completionTokens", t.CompletionTokens);
        json.WriteNumber("cachedTokens", t.CachedTokens);
        json.WriteNumber("cacheWriteTokens", t.CacheWriteTokens);
        json.WriteNumber("reasoningTokens", t.ReasoningTokens);
        json.WriteNumber("costUsd", t.CostUsd);
        json.WriteNumber("estimatedCostRequests", t.EstimatedCostRequests);
        json.WriteNumber("latencyMsTotal", t.LatencyMsTotal);
        json.WriteEndObject();
    }

    private static void WriteCachedAnswer(Utf8JsonWriter json, string key, CachedCompletion entry)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        json.WriteString("requestId", entry.RequestId);
        json.WriteString("createdAt", entry.CreatedAt);
        json.WriteString("deployment", entry.Deployment);
        json.WritePropertyName("completion");
        json.WriteRawValue(entry.Body, skipInputValidation: true);
        json.WriteEndObject();
    }
}
