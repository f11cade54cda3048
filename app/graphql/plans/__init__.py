"""`plans`, and operators' `workspaces`, `setWorkspacePlan` and `setSubscriptionOverrides`."""
