namespace KernelGen.Containers.Safetensors;

/// <summary>
/// The element types the safetensors format defines (the reference's <c>enum Dtype</c>, newest release, FORMATS.md
/// §8.1). The members are declared in the reference's order on purpose: its writer sorts tensors by this order, so
/// comparing <c>(int)dtype</c> reproduces it (<see cref="SafetensorsTensorOrder.DTypeThenName"/>).
/// </summary>
public enum SafetensorsDType
{
    /// <summary>Boolean, one byte per element.</summary>
    BOOL,
    /// <summary>OCP MX FP4 (E2M1), 4 bits per element.</summary>
    F4,
    /// <summary>OCP MX FP6 E2M3, 6 bits per element.</summary>
    F6_E2M3,
    /// <summary>OCP MX FP6 E3M2, 6 bits per element.</summary>
    F6_E3M2,
    /// <summary>Unsigned byte.</summary>
    U8,
    /// <summary>Signed byte.</summary>
    I8,
    /// <summary>FP8 E5M2.</summary>
    F8_E5M2,
    /// <summary>FP8 E4M3.</summary>
    F8_E4M3,
    /// <summary>OCP MX E8M0 scale (exponent only), one byte.</summary>
    F8_E8M0,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>IEEE binary16.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>Signed 32-bit integer (GPTQ/AWQ packed words).</summary>
    I32,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>IEEE binary32.</summary>
    F32,
    /// <summary>Complex number of two binary32 parts.</summary>
    C64,
    /// <summary>IEEE binary64.</summary>
    F64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
}
