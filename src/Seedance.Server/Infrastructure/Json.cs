using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Seedance.Server.Infrastructure;

public static class Json
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.Converters.Add(new UtcSecondsConverter());
        options.Converters.Add(new CreditConverter());
        return options;
    }

    /// <summary>ISO 8601 UTC with a Z and whole seconds.</summary>
    public sealed class UtcSecondsConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTime.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Format(value));

        public static string Format(DateTime value) =>
            DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Prices in credits per second, per resolution, exactly as set (3.312 stays 3.312; the credit figures' two decimals
    /// apply to what a task costs, not to its price per second), trailing zeros dropped.
    /// </summary>
    public sealed class ExactPricesConverter : JsonConverter<IReadOnlyDictionary<string, decimal>>
    {
        // Prices are only ever written (the models answer); nothing reads them back.
        public override IReadOnlyDictionary<string, decimal> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("prices are written, never read");

        public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, decimal> value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var (resolution, price) in value) writer.WriteNumber(resolution, price / 1.000000000000000000000000000000000m);
            writer.WriteEndObject();
        }
    }

    /// <summary>Credit figures as JSON numbers with at most two decimals.</summary>
    public sealed class CreditConverter : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDecimal();
        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(Credits.Normalize(value));
    }
}
