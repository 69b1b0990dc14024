using System.Text;
using Gateway.Core.Safety;

namespace Gateway.Core.Tests.Safety;

/// <summary>Putting a request's redacted values back into the answer, whole or in stream pieces.</summary>
public sealed class PlaceholderRestorerTests
{
    private static readonly Dictionary<string, string> Placeholders = new(StringComparer.Ordinal)
    {
        ["jane.doe@example.org"] = "<EMAIL_1>",
        ["4111 1111 1111 1111"] = "<CARD_1>",
        ["+1 415 555 2671"] = "<PHONE_12>",
    };

    private const string Answer = "Dear <EMAIL_1>: a < b, <div> and <EMAIL_2> stay; card <CARD_1>, call <PHONE_12>.<EMAIL_1><";

    [Fact]
    public void Only_the_requests_placeholders_are_restored_and_other_angle_brackets_stay()
    {
        var restored = new PlaceholderRestorer(Placeholders).Restore(Answer);
        Assert.Equal("Dear jane.doe@example.org: a < b, <div> and <EMAIL_2> stay; card 4111 1111 1111 1111, call +1 415 555 2671.jane.doe@example.org<", restored);
        Assert.Equal(Answer, new PlaceholderRestorer(new Dictionary<string, string>()).Restore(Answer));
    }

    [Fact]
    public void A_placeholder_split_across_pieces_is_restored_whatever_the_split()
    {
        var expected = new PlaceholderRestorer(Placeholders).Restore(Answer);
        var random = new Random(7);
        for (var round = 0; round < 500; round++)
        {
            var restorer = new PlaceholderRestorer(Placeholders);
            var output = new StringBuilder();
            for (var at = 0; at < Answer.Length;)
            {
                var n = Math.Min(Answer.Length - at, random.Next(0, 6));
                output.Append(restorer.Push(Answer.Substring(at, n), final: false));
                at += n;
            }

            output.Append(restorer.Push("", final: true));
            Assert.False(restorer.HasPending);
            Assert.Equal(expected, output.ToString());
        }
    }
}
