package api

// The types of the new endpoints' bodies, for the document's tests in
// package api_test.
type (
	User                 = user
	AssetObject          = assetObject
	AssetList            = assetList
	UploadRequest        = uploadRequest
	UploadSlot           = uploadSlot
	Uploaded             = uploaded
	CompleteRequest      = completeRequest
	Completed            = completed
	BatchRequest         = batchRequest
	BatchCreated         = batchCreated
	CompleteBatchRequest = completeBatchRequest
	BatchView            = batchView
	BatchItem            = batchItem
)
