/// A malformed or unsupported ONNX file. `description` is one line naming the file.
package struct ONNXError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
