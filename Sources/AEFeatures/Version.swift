/// The library's version (semantic versioning), as `aef_version()` and exported ONNX models report it.
public enum AEFeaturesVersion {
    public static let string = "0.1.0"
}
