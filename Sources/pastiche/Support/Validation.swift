import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

func validateStrength(_ s: Float) throws {
    guard s.isFinite, (0...1).contains(s) else { throw ValidationError("--strength must be in [0, 1], got \(s)") }
}

func validateMaxSize(_ n: Int?) throws {
    if let n, n < 16 || n > 1 << 16 { throw ValidationError("--max-size must be from 16 to 65536, got \(n)") }
}

/// The destination of a command that takes it as a trailing argument (its first form) or, as
/// every other command does, as `-o`: exactly one of the two.
func chosenOutput(argument: String?, option: String?, name: String) throws -> String {
    switch (argument, option) {
    case let (a?, o?): throw ValidationError("\(name) given twice (\(a) and -o \(o)); give one")
    case let (a?, nil): return a
    case let (nil, o?): return o
    case (nil, nil): throw ValidationError("missing \(name): give it as -o \(name)")
    }
}
