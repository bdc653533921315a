"""What is registered: the manifest of trained generators (trained/manifest.json), the Modality record a
modality package registers, and what the app serves from them. The list of registered modalities itself is
``studio.modalities`` (it imports the modality packages, which import this one)."""
