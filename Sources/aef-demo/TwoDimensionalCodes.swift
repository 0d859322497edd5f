import AEFCommandLine
import AEFeatures

/// The classic picture (Hinton and Salakhutdinov, 2006): the test images in two dimensions, by
/// PCA's first two components and by an autoencoder's 2-unit code, and how well the classes
/// separate in each plane, measured as the 5-nearest-neighbour test accuracy there (the training
/// images' 2-D points vote). The report draws both planes (two_dimensions_fashion-mnist.png).
extension Demo {
    static let pcaPlane = "PCA 2-D (first 2 components)"
    static let codePlane = "autoencoder 2-D code (784-512-128-2)"
    static let twoUnitNetwork = #"{"input_shape":[784],"hidden_units":[512,128],"code_size":2,"activation":"elu","code_activation":"identity","batch_norm":true}"#

    func twoDimensional(pca: PCA, seed: UInt64, train: [Float], test: [Float], trainLabels: [Int], testLabels: [Int],
                        into results: inout Results, plots: inout DemoReport) throws {
        let model = try fitted(Demo.twoUnitNetwork, seed: seed, epochs: epochs, batch: 100, rows: train, width: 784)
        let planes = [(Demo.pcaPlane, pca.project(train), pca.project(test)),
                      (Demo.codePlane, try model.encode(Tensor.rows(train, width: 784)).scalars,
                       try model.encode(Tensor.rows(test, width: 784)).scalars)]
        for (name, trainPoints, testPoints) in planes {
            let accuracy = nearestNeighbourAccuracy(train: trainPoints, trainLabels: trainLabels, test: testPoints, testLabels: testLabels)
            results.add(name, 100 * accuracy)
            if seed == 1 { plots.add("fashion-mnist", name == Demo.pcaPlane ? "plane.pca" : "plane.code", testPoints, width: 2) }
        }
    }

    func twoDimensionalTable(_ results: Results) -> Table {
        Table(title: "Fashion-MNIST in two dimensions: 5-nearest-neighbour test accuracy (%) in the plane", metric: "accuracy %",
              rows: results.rows([:]), reference: Demo.pcaPlane,
              note: "Each test image's class voted by the 5 training images nearest to it in the plane. The autoencoder's "
                + "2-unit code (linear) against PCA's first two components: the comparison of Hinton and Salakhutdinov (2006).")
    }
}

/// The share of test points whose k nearest training points (Euclidean; points of `dimensions`
/// values) vote their class; a tie goes to the tied class with the nearest voter.
func nearestNeighbourAccuracy(train: [Float], trainLabels: [Int], test: [Float], testLabels: [Int],
                              dimensions: Int = 2, k: Int = 5) -> Double {
    var correct = 0
    for (t, label) in testLabels.enumerated() {
        let query = test[(t * dimensions)..<((t + 1) * dimensions)]
        var nearest: [(distance: Float, label: Int)] = []  // sorted, at most k
        for (i, candidateLabel) in trainLabels.enumerated() {
            var distance: Float = 0
            for (j, q) in query.enumerated() { let d = train[i * dimensions + j] - q; distance += d * d }
            if nearest.count == k, distance >= nearest[k - 1].distance { continue }
            let position = nearest.firstIndex { $0.distance > distance } ?? nearest.count
            nearest.insert((distance, candidateLabel), at: position)
            if nearest.count > k { nearest.removeLast() }
        }
        var votes: [Int: Int] = [:]
        for voter in nearest { votes[voter.label, default: 0] += 1 }
        let most = votes.values.max() ?? 0
        if nearest.first(where: { votes[$0.label] == most })?.label == label { correct += 1 }
    }
    return Double(correct) / Double(max(testLabels.count, 1))
}
