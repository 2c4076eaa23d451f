using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>
/// Seeded property tests: valid files truncated at every header length and at random lengths, and hit by random
/// byte and bit flips, must either open or be refused with <see cref="ModelFormatException"/>. Anything else
/// (IndexOutOfRange, InvalidOperation, OutOfMemory, a hang) is a reader bug; the failure message gives the seed and
/// the mutation so it can be replayed.
/// </summary>
public sealed class SafetensorsCorruptionTests : IDisposable
{
    private const int Seed = 20250817;
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IEnumerable<(string Name, byte[] Bytes)> Bases()
    {
        yield return ("sample", SafetensorsBytes.Sample());
        yield return ("gptq_b3", File.ReadAllBytes(SafetensorsTestData.Quant("gptq", "gptq_b3_g128_asym_act0_512x128", "model.safetensors")));
        yield return ("bitnet", File.ReadAllBytes(SafetensorsTestData.Quant("bitnet", "bitnet_autobitlinear_offline_256x512", "model.safetensors")));
    }

    private void OpensOrIsRefused(byte[] bytes, string what)
    {
        string path = _dir.Write("mutant.safetensors", bytes);
        try
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var t in file.Tensors)
                if (t.ByteSize <= int.MaxValue) _ = file.GetData(t).Length;
        }
        catch (ModelFormatException e)
        {
            Assert.StartsWith(path, e.Message);
        }
        catch (Exception e)
        {
            Assert.Fail($"seed {Seed}, {what}: {e.GetType().Name}: {e.Message}");
        }
    }

    [Fact]
    public void Truncation_at_every_header_length_and_random_lengths()
    {
        var random = new Random(Seed);
        foreach (var (name, bytes) in Bases())
        {
            int headerEnd = 8 + (int)BitConverter.ToUInt64(bytes);
            var lengths = Enumerable.Range(0, headerEnd + 9).Concat(Enumerable.Range(0, 40).Select(_ => random.Next(bytes.Length)));
            foreach (int length in lengths.Distinct())
                OpensOrIsRefused(bytes[..length], $"{name} truncated to {length} bytes");
        }
    }

    [Fact]
    public void Random_byte_and_bit_flips()
    {
        var random = new Random(Seed);
        var bases = Bases().ToArray();
        for (int i = 0; i < 2000; i++)
        {
            var (name, original) = bases[i % bases.Length];
            byte[] bytes = (byte[])original.Clone();
            int headerEnd = 8 + (int)BitConverter.ToUInt64(original);
            int flips = 1 + random.Next(3);
            var what = new List<string>();
            for (int f = 0; f < flips; f++)
            {
                // Mostly the length prefix and header, where the structure is; sometimes anywhere.
                int at = random.Next(4) == 0 ? random.Next(bytes.Length) : random.Next(headerEnd);
                if (random.Next(2) == 0)
                {
                    int bit = random.Next(8);
                    bytes[at] ^= (byte)(1 << bit);
                    what.Add($"bit {bit} of byte {at}");
                }
                else
                {
                    bytes[at] = (byte)random.Next(256);
                    what.Add($"byte {at} = {bytes[at]}");
                }
            }
            OpensOrIsRefused(bytes, $"mutation #{i} of {name}: {string.Join(", ", what)}");
        }
    }

    [Fact]
    public void Structural_characters_replaced_in_the_header()
    {
        // Targeted mutations a random flip rarely produces: JSON punctuation swapped for other punctuation.
        byte[] original = SafetensorsBytes.Sample();
        int headerEnd = 8 + (int)BitConverter.ToUInt64(original);
        byte[] punctuation = "{}[]:,\"\\-.e0 9"u8.ToArray();
        for (int at = 8; at < headerEnd; at++)
        {
            if (!punctuation.Contains(original[at])) continue;
            foreach (byte replacement in punctuation)
            {
                byte[] bytes = (byte[])original.Clone();
                bytes[at] = replacement;
                OpensOrIsRefused(bytes, $"byte {at} '{(char)original[at]}' -> '{(char)replacement}'");
            }
        }
    }
}
