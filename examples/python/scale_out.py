"""More data than one fit holds, and more rows than one machine scores: partial_fit over chunks,
then Dask and Spark scoring every row where the partitions are (README, "Scaling out").

    python3 examples/python/scale_out.py
"""
import os
import sys
import warnings

import numpy as np
import dask.dataframe as dd
import pandas as pd
from distributed import Client, LocalCluster

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import aefeatures.dask
import aefeatures.spark
from aefeatures import AutoencoderDetector, AutoencoderTransformer


MIXING = np.random.default_rng(0).normal(size=(2, 12))
COLUMNS = [f"sensor_{i}" for i in range(12)]


def rows(count, seed):
    """`count` synthetic sensor rows: 12 readings driven by 2 hidden factors, plus noise."""
    rng = np.random.default_rng(seed)
    return np.tanh(rng.uniform(-1, 1, size=(count, 2)) @ MIXING) + 0.05 * rng.normal(size=(count, 12))


def partition(index):
    """One partition of the table to score, made where it is needed (as reading a file would be)."""
    frame = pd.DataFrame(rows(25_000, seed=100 + index), columns=COLUMNS)
    return frame.assign(id=np.arange(25_000) + 25_000 * index)


def main():
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated")  # PySpark 4.3 under pandas 3
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    # Train on 20 chunks of 5,000 rows, 3 passes, never holding more than one chunk.
    detector = AutoencoderDetector(AutoencoderTransformer(hidden_units=(32,), code_size=2, random_state=0),
                                   contamination=0.01)
    for _ in range(3):
        for seed in range(20):
            detector.partial_fit(rows(5000, seed))
    detector.calibrate_threshold(rows(2000, seed=99), false_positive_rate=0.01)  # held-out normal rows
    print(f"trained on 100,000 rows in 60 calls of partial_fit; threshold {detector.threshold_:.3f}")

    # Score 200,000 rows on a local Dask cluster (a real one takes its scheduler's address).
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        table = dd.from_map(partition, range(8))
        scored = aefeatures.dask.transform(table, detector, output="scores", input_cols=COLUMNS)
        print(scored.head())
        labels = aefeatures.dask.transform(table[COLUMNS].to_dask_array(lengths=True), detector, output="labels")
        flagged = int(labels.sum().compute())
        print(f"{flagged} of 200,000 normal rows flagged ({flagged / 2000:.2f}%; the target was 1%)")

    # The same in Spark (local[2] here; spark-submit gives a cluster's session).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors need aefeatures installed
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    table = spark.createDataFrame(partition(0))  # in practice spark.read.parquet(...)
    scored = aefeatures.spark.transform(table, detector, output="scores", input_cols=COLUMNS)
    scored.orderBy(F.desc("ae_score")).show(3)
    labelled = table.withColumn("anomaly", aefeatures.spark.predict_udf(detector, output="labels")(F.array(*COLUMNS)))
    print(f"Spark: {labelled.where('anomaly = 1').count()} of 25,000 rows flagged")
    spark.stop()


if __name__ == "__main__":
    main()
