"""A consortium folder: its PKI, genesis and one node folder per bank or observer; init, add-node, up, status."""
