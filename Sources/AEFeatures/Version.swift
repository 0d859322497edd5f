/// The library's version (semantic versioning), as `aef_version()` and exported ONNX models report it.
public enum AEFeaturesVersion {
    public static let string = "0.1.0"
    /// `aef_abi_version()`: the C ABI's version, the shared library's soname suffix and its symbol-version node.
    public static let abi: UInt32 = 1
}
