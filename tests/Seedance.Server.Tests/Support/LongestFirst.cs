using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestCollectionOrderer("Seedance.Server.Tests.Support.LongestFirst", "Seedance.Server.Tests")]

namespace Seedance.Server.Tests.Support;

/// <summary>
/// About how long a test class takes from its first test to its last (they run one after another), in seconds of a
/// pass of ./test on the two-core machine. Only the order it gives matters: see <see cref="LongestFirst"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class TakesAboutAttribute(int seconds) : Attribute
{
    public int Seconds { get; } = seconds;
}

/// <summary>
/// Starts the test classes that take longest first. The runner keeps a few classes running at once and starts the next
/// in its order when one ends; in its own order (a hash of each class's id) a class of 40 s could start when the rest
/// were nearly done, and the pass then waited on it alone. The classes that must run alone still run last.
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    private const string PerClass = "Test collection for ";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderByDescending(Seconds).ThenBy(c => c.UniqueID);

    private static int Seconds(ITestCollection collection)
    {
        var type = collection.CollectionDefinition?.ToRuntimeType()
                   ?? (collection.DisplayName.StartsWith(PerClass, StringComparison.Ordinal)
                       ? typeof(LongestFirst).Assembly.GetType(collection.DisplayName[PerClass.Length..])
                       : null);
        return type?.GetCustomAttribute<TakesAboutAttribute>()?.Seconds ?? 0;
    }
}
