using KernelGen.Containers.Gguf;
using KernelGen.Errors;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Gguf;

/// <summary>
/// Property test: truncating or corrupting a valid file never makes the reader fail with anything but
/// <see cref="ModelFormatException"/>. Seeded, so a failure reproduces; the seed and mutation are in the message.
/// </summary>
public class GgufFuzzTests
{
    [Theory]
    [InlineData("tiny-llama-Q4_K_M.gguf", 0x5EED0001)]
    [InlineData("tiny-llama-Q8_0.gguf", 0x5EED0002)]
    public void MutatedFilesOnlyEverThrowModelFormatException(string model, int seed)
    {
        byte[] original = File.ReadAllBytes(RepoPaths.Model(model));
        long headerEnd;
        using (var f = GgufFile.Open(RepoPaths.Model(model))) headerEnd = f.DataOffset;
        var random = new Random(seed);
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        int opened = 0, rejected = 0;
        for (int i = 0; i < 600; i++)
        {
            byte[] bytes;
            string what;
            switch (i % 4)
            {
                case 0:
                    int cut = random.Next((int)headerEnd + 64);
                    bytes = original[..cut];
                    what = $"truncated to {cut}";
                    break;
                case 1:
                    int at = random.Next((int)headerEnd);
                    bytes = (byte[])original.Clone();
                    bytes[at] = (byte)random.Next(256);
                    what = $"byte {at} set to {bytes[at]}";
                    break;
                case 2:
                    int bit = random.Next((int)headerEnd * 8);
                    bytes = (byte[])original.Clone();
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                    what = $"bit {bit} flipped";
                    break;
                default:
                    int start = random.Next((int)headerEnd - 8);
                    bytes = (byte[])original.Clone();
                    random.NextBytes(bytes.AsSpan(start, 8));
                    what = $"8 random bytes at {start}";
                    break;
            }
            File.WriteAllBytes(path, bytes);
            try
            {
                using var f = GgufFile.Open(path);
                _ = f.Tensors.Sum(t => t.ByteSize ?? 0);
                opened++;
            }
            catch (ModelFormatException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed:X}, mutation {i} ({what}): {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(rejected > 100, $"only {rejected} of 600 mutations were rejected");
        Assert.True(opened > 0);
    }
}
