// The Ringtail embedding facade: the one module an application or a test
// imports. This file names the types of the lower modules that appear in the
// public API, so `import Ringtail` alone is enough; everything else those
// modules hold stays internal to Ringtail.
import RingtailCore
import RingtailStorage
import RingtailCluster

// Values and schema (RingtailStorage).

/// A typed column value: text, bigint, int, double, timestamp (µs since the epoch), blob, boolean.
public typealias TypedValue = RingtailStorage.TypedValue
public typealias ColumnType = RingtailStorage.ColumnType
public typealias ColumnDefinition = RingtailStorage.ColumnDefinition
/// A table: keyspace, name, partition key, clustering key (time first for time series), columns, options.
public typealias TableDefinition = RingtailStorage.TableDefinition
public typealias TableOptions = RingtailStorage.TableOptions
public typealias ClusteringOrder = RingtailStorage.ClusteringOrder
public typealias Compression = RingtailStorage.Compression
public typealias CompactionStrategy = RingtailStorage.CompactionStrategy
public typealias SizeTieredOptions = RingtailStorage.SizeTieredOptions
public typealias TimeWindowOptions = RingtailStorage.TimeWindowOptions
public typealias TimeWindowUnit = RingtailStorage.TimeWindowUnit
/// Byte counts in table options (`TableOptions.blockBytes`).
public typealias ByteCount = RingtailCore.ByteCount

// Replication, consistency and request errors (RingtailCluster).

public typealias ReplicationStrategy = RingtailCluster.ReplicationStrategy
public typealias ConsistencyLevel = RingtailCluster.ConsistencyLevel
/// What a data operation throws: unavailable, timeout, failure, invalid request, coordinator lost.
public typealias RequestError = RingtailCluster.RequestError
