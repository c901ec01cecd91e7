import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

public struct TrainingError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
