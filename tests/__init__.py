"""The test suite; its folders mirror the studio package."""
