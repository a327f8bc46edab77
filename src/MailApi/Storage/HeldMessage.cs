using System.Buffers;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailApi.Storage;

/// <summary>
/// One message as the in-memory store holds it: the fields its lookups, filters and housekeeping read, beside the message
/// itself. While the message is not final that is the record, which the delivery job rewrites a few times; once final it
/// is the record as Brotli-compressed UTF-8 JSON, since a final message changes seldom and is most of what a long-running
/// store holds: one array for the collector instead of a graph of some forty objects, and the body compressed.
/// </summary>
internal sealed class HeldMessage
{
    /// <summary>
    /// Fast over small: it runs once per finished message, on the delivery path, and higher qualities cost several times
    /// the CPU for a few percent fewer bytes on a message of a few KB; a 64 KiB window is all such a message uses.
    /// </summary>
    private const int BrotliQuality = 1;

    private const int BrotliWindow = 16;

    private readonly StoredMessage? _live;
    private readonly byte[]? _packed;
    private readonly int _length;

    private HeldMessage(StoredMessage message)
    {
        Id = message.Id;
        // API key names: a handful of strings for every message.
        Owner = string.Intern(message.Owner);
        Status = message.Status;
        Version = message.Version;
        CreatedAt = message.CreatedAt;
        UpdatedAt = message.UpdatedAt;
        SentAt = message.SentAt;
        QueueId = message.QueueId;
        Sender = message.Sender;
        Tags = message.Content.Tags.Count == 0 ? [] : [.. message.Content.Tags];
        Addresses = [.. message.Recipients.Select(r => r.Address)];
        ContentPurged = message.ContentPurged;
        if (!message.Status.IsFinal())
        {
            _live = message;
            return;
        }
        var json = Document(message);
        var buffer = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(json.Length));
        try
        {
            if (!BrotliEncoder.TryCompress(json, buffer, out var written, BrotliQuality, BrotliWindow))
            {
                throw new InvalidOperationException("A message did not compress into a buffer of its maximum compressed length.");
            }
            _packed = buffer.AsSpan(0, written).ToArray();
            _length = json.Length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A document larger than this (a message with attachments) gets a buffer of its own rather than leaving the thread's
    /// reused one that large.
    /// </summary>
    private const int ReusedBufferBytes = 64 * 1024;

    [ThreadStatic] private static ArrayBufferWriter<byte>? _document;
    [ThreadStatic] private static Utf8JsonWriter? _writer;

    /// <summary>
    /// The message's JSON in this thread's reused buffer, valid until the thread's next call: the document is only read
    /// to be compressed, so the collector sees the compressed copy alone instead of both.
    /// </summary>
    private static ReadOnlySpan<byte> Document(StoredMessage message)
    {
        var document = _document ??= new ArrayBufferWriter<byte>(ReusedBufferBytes);
        document.ResetWrittenCount();
        var writer = _writer ??= new Utf8JsonWriter(document, new JsonWriterOptions { Encoder = HeldJson.Default.Options.Encoder, SkipValidation = true });
        writer.Reset(document);
        JsonSerializer.Serialize(writer, message, HeldJson.Default.StoredMessage);
        if (document.Capacity > ReusedBufferBytes)
        {
            (_document, _writer) = (null, null);
        }
        return document.WrittenSpan;
    }

    /// <summary><paramref name="message"/> as the store holds it: compressed when final.</summary>
    public static HeldMessage Of(StoredMessage message) => new(message);

    public Guid Id { get; }
    public string Owner { get; }
    public MessageStatus Status { get; }
    public long Version { get; }
    public DateTimeOffset CreatedAt { get; }
    public DateTimeOffset UpdatedAt { get; }
    public DateTimeOffset? SentAt { get; }
    public string? QueueId { get; }
    public string Sender { get; }
    public string[] Tags { get; }

    /// <summary>Every recipient's address (To, Cc and Bcc), for the list filter.</summary>
    public string[] Addresses { get; }

    public bool ContentPurged { get; }

    /// <summary>The record while the message is not final; null once it is.</summary>
    public StoredMessage? Live => _live;

    /// <summary>The message: the record, or a new copy read from the compressed document.</summary>
    public StoredMessage Message()
    {
        if (_live is not null)
        {
            return _live;
        }
        var json = ArrayPool<byte>.Shared.Rent(_length);
        try
        {
            if (!BrotliDecoder.TryDecompress(_packed, json, out var written) || written != _length)
            {
                throw new InvalidOperationException($"The held document of message {Id} did not decompress.");
            }
            return JsonSerializer.Deserialize(json.AsSpan(0, _length), HeldJson.Default.StoredMessage)!;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(json);
        }
    }
}

/// <summary>
/// The held document's JSON, generated at build time (faster both ways than reflection). Nothing reads it but
/// <see cref="HeldMessage.Message"/> in the same process, so it leaves out nulls and writes enums as numbers.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredMessage))]
internal sealed partial class HeldJson : JsonSerializerContext;
