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
