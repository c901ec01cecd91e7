import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60) : String(format: "%dm%02ds", t / 60, t % 60)
}
