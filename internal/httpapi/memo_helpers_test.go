package httpapi

func testMemo(budget int64) *memo { return newMemo(budget) }
